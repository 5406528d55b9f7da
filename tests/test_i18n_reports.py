"""The Chinese score report, `nnlab submit`'s Chinese lines and the meta checks' failures in Chinese."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from nnlab.grader.exercise import get_exercise
from nnlab.i18n import CHANGE_PHRASES, FAILURES, MESSAGES, check_titles, failure, translate_failure
from nnlab.results import CheckResult, ExerciseResult, Outcome, SubmissionResult, TimingInfo, Visibility
from nnlab.wire.confinement import Confinement

CJK = re.compile(r"[\u4e00-\u9fff]")
# An English sentence left behind: three English words in a row. Code (nn.Linear, grad_fn,
# `x`, reduction='mean') is not prose and does not count.
ENGLISH_RUN = re.compile(r"(?<![\w.`'])[A-Za-z]{2,}(?:[ ,;:()-]+[A-Za-z]{2,}(?![\w.(`'])){2,}")
TEMPLATES = Path(__file__).resolve().parents[1] / "nnlab" / "reports" / "templates"


def english_runs(text: str) -> list[str]:
    """The English sentences (three words or more) in `text`, code spans left out."""
    return ENGLISH_RUN.findall(re.sub(r"`[^`\n]*`", " ", text))


def page_text(page: str) -> str:
    """What a reader sees of an HTML page: no style, script, tags or <code> spans."""
    page = re.sub(r"<(style|script)\b.*?</\1>|<code>.*?</code>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def test_the_english_detector_sees_a_sentence_and_not_code() -> None:
    """Does the leftover-English check find an English sentence, and pass Chinese text with code
    names in it (written two ways)?"""
    assert english_runs("weight：形状应为 (5, 3)，nn.Linear 的 grad_fn，`result is tensor`") == []
    assert english_runs("forward output：应为 reduction='mean'，实际为 torch.float64") == []
    assert english_runs("成绩：the checks gave 3") == ["the checks gave"]
    assert english_runs("它是 a view of the input") == ["view of the input"]


# ---------------------------------------------------------------- a graded submission


def _values() -> dict[str, object]:
    return {"what": "forward output", "expected": "(5, 3)", "got": "(3, 5)", "bad": 3, "total": 12,
            "index": "(0, 1)", "error": "0.5", "atol": "1e-05", "rtol": "0.0001", "raised": "KeyError",
            "input": "x", "argument": "t", "base": "t", "other": "y", "call": "MyLinear(4, 3)",
            "changes": "`x`: its values were changed in place; `w`: requires_grad was turned on",
            "file": "my_linear.py", "why": "invalid syntax", "line": 3, "cell": 2, "byte": 5,
            "listed": "line 2: uses torch.nn.Linear, which this exercise bans"}


def graded(messages: list[str]) -> SubmissionResult:
    """my_linear's, batch_norm's and mlp's real checks: the first passed (with a timing), the others
    failed or in error with `messages` in turn (each at least once); dropout not submitted."""
    timing = TimingInfo("cpu (torch 2.5, 2 threads)", 1.2, 2.5, 0.05, 1.2e-4, 1e-4, 15)
    exercises, n = [], 0
    for exercise_id in ("my_linear", "batch_norm", "mlp"):
        exercise = get_exercise(exercise_id)
        first, *rest = exercise.checks
        checks = [CheckResult(first.name, first.test_id, first.points, first.points, Outcome.PASSED,
                              first.visibility, "", timing=timing)]
        for spec in rest:
            outcome = Outcome.ERROR if n % 3 == 2 else Outcome.FAILED
            checks.append(CheckResult(spec.name, spec.test_id, 0.0, spec.points, outcome,
                                      spec.visibility, messages[n % len(messages)]))
            n += 1
        exercises.append(ExerciseResult(exercise.id, exercise.title, tuple(checks), exercise.points))
    assert n >= len(messages)
    dropout = get_exercise("dropout")
    exercises.append(ExerciseResult(dropout.id, dropout.title, (), dropout.points, submitted=False))
    return SubmissionResult(
        student="学生01", seed=4321, device="cpu", nnlab_version="0.1.0", graded_at="2026-12-06T18:00:00Z",
        confinement=Confinement("partial", ("rlimits", "no_new_privs"), ("landlock",)),
        exercises=tuple(exercises))


def every_failure() -> list[str]:
    return [failure(key, **_values()) for key in FAILURES]


def test_a_chinese_report_reads_chinese_throughout() -> None:
    """With lang zh: the report's own lines, the check and exercise titles, the outcome badges and
    every failure nnlab.grader.checks writes are Chinese, with no English sentence left; the
    same result in English is as before."""
    from nnlab.reports import render_student_report
    from nnlab.reports.classview import LatePenalty

    result = graded(every_failure())
    page = render_student_report(result, lang="zh", late=LatePenalty(days=2, factor=0.8),
                                 class_href="../index.html")
    text = page_text(page)
    assert '<html lang="zh-CN">' in page and "<title>成绩报告：学生01</title>" in page
    for line in ("优先修改", "迟交 2 天", "全班成绩报告", "本次评分", "随机种子", "隔离措施",
                 "部分隔离：rlimits, no_new_privs（本机不支持：landlock）", "未提交", "未通过", "出错",
                 "MyLinear：从零实现线性层", "耗时比", "参考实现", "由 nnlab"):
        assert line in text, line
    plain = html.unescape(re.sub(r"<[^>]+>", "", page))  # a title's `code` is a <code> span
    for exercise_id in ("my_linear", "batch_norm"):
        titles = check_titles(exercise_id, "zh")
        assert all(titles[c.test_id].replace("`", "") in plain for c in get_exercise(exercise_id).checks)
    assert "forward output：形状应为 (5, 3)，实际为 (3, 5)" in text
    assert english_runs(text) == [], english_runs(text)
    english = page_text(render_student_report(result, late=LatePenalty(days=2, factor=0.8)))
    assert "Fix first" in english and "2 days late" in english and not CJK.search(english.replace("学生01", ""))


def test_a_leftover_english_message_would_be_seen() -> None:
    """Would the report test notice a message no template translates (a check's own words)?"""
    from nnlab.reports import render_student_report

    own_words = "the running mean was updated twice per batch"
    text = page_text(render_student_report(graded([own_words]), lang="zh"))
    assert own_words in text and english_runs(text)


def test_submit_prints_and_writes_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does `nnlab submit --lang zh` (grading stubbed out) print Chinese results, score, seed and
    report lines, write a Chinese report, and keep English without --lang?"""
    from contextlib import contextmanager, nullcontext

    import nnlab.commands.submit as submit
    import nnlab.grader.pipeline as pipeline
    from nnlab.cli import main

    result = graded(every_failure())

    def grade_student(request, launcher, on_exercise=None):
        for exercise in result.exercises if on_exercise else ():
            on_exercise(exercise)
        return result

    monkeypatch.setattr(pipeline, "grade_student", grade_student)

    @contextmanager
    def no_warm_grader(args: list[str]):
        yield None

    monkeypatch.setattr(submit, "warm_grader", no_warm_grader)
    monkeypatch.setattr(submit, "grading_launcher", lambda: nullcontext(None))
    monkeypatch.setattr(submit, "preflight", lambda path: None)
    monkeypatch.setattr(submit, "start_fork_server_early", lambda: None)
    monkeypatch.setattr(submit, "is_student_kit", lambda: False)
    work = tmp_path / "my_linear.py"
    work.write_text("x = 1\n")
    report = tmp_path / "report.html"
    runner = CliRunner()
    out = runner.invoke(main, ["submit", str(work), "--report", str(report), "--lang", "zh"],
                        env={"NNLAB_LANG": None, "LANG": "en_US.UTF-8"})
    assert out.exit_code == 0, out.output
    lines = out.output
    assert f"成绩报告：{report}" in lines and "总分：" in lines and "随机种子：4321" in lines
    assert "隔离措施：部分隔离" in lines and "未通过" in lines
    assert english_runs(lines.replace(str(tmp_path), "")) == [], english_runs(lines)
    assert "优先修改" in report.read_text(encoding="utf-8")
    progress = runner.invoke(main, ["submit", str(work), "--json", "--lang", "zh"])
    assert "已评分 my_linear：" in progress.output
    english = runner.invoke(main, ["submit", str(work), "--report", str(report)],
                            env={"NNLAB_LANG": None, "LANG": "en_US.UTF-8"})
    assert f"Report: {report}" in english.output and "Seed: 4321" in english.output
    assert not CJK.search(english.output.replace("学生01", ""))


def test_submit_refuses_a_seed_for_the_server_in_chinese(tmp_path: Path) -> None:
    """Is `--seed` with `--assignment` refused in the chosen language before anything is sent?"""
    from nnlab.cli import main

    work = tmp_path / "my_linear.py"
    work.write_text("x = 1\n")
    args = ["submit", str(work), "--assignment", "hw1", "--seed", "3"]
    chinese = CliRunner().invoke(main, [*args, "--lang", "zh"])
    assert chinese.exit_code == 2 and "--seed 只用于在本机评分" in chinese.output, chinese.output
    english = CliRunner().invoke(main, args, env={"NNLAB_LANG": "en"})
    assert "--seed is for grading on this machine" in english.output


# ---------------------------------------------------------------- the tables in step


def test_every_line_a_template_asks_for_exists_in_both_languages() -> None:
    """Does every w[...]/tr.text/tr.plural key of the report templates exist (a plural as .one and
    .other), and is every report line of the tables used by a template?"""
    used: set[str] = set()
    for path in TEMPLATES.glob("*.j2"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"tr\.text\(\"([\w.]+)\"", source)) | set(re.findall(r"w\[\"([\w.]+)\"\]", source))
        used |= {f"{key}.{form}" for key in re.findall(r"tr\.plural\(\"([\w.]+)\"", source)
                 for form in ("one", "other")}
    used |= {f"report.outcome.{o.value}" for o in Outcome} | {f"report.visibility.{v.value}" for v in Visibility}
    used |= {"report.heading", "report.heading_of"}  # report_heading() writes the title
    assert sorted(used - set(MESSAGES)) == [], "lines a template asks for but no table has"
    unused = sorted(k for k in MESSAGES if k.startswith("report.") and k not in used)
    assert unused == [], "report lines no template uses"
    for key in MESSAGES:
        if key.endswith((".one", ".other")):
            stem = key.rsplit(".", 1)[0]
            assert {f"{stem}.one", f"{stem}.other"} <= set(MESSAGES), key
        if key.startswith("report."):
            assert CJK.search(MESSAGES[key]["zh"]), f"{key}: the Chinese line is not Chinese"


def test_the_change_phrases_cover_what_the_worker_says() -> None:
    """Does every change the worker's audit names (values, requires_grad, .grad, hooks, a removed
    or added entry) read Chinese once translated, labels kept?"""
    from nnlab.worker.server import snapshot, state_changes

    x, g, h = torch.ones(3), torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    g.grad = torch.ones(2)
    layer = torch.nn.Linear(2, 2)
    before = snapshot([("x", x), ("g", g), ("h", h), ("m", layer)])
    x.add_(1.0)
    x.requires_grad_(True)
    g.grad = None
    h.grad = torch.ones(2)
    h.register_hook(lambda grad: grad)
    layer.register_forward_hook(lambda *args: None)
    after = snapshot([("x", x), ("g", g), ("h", h), ("m", layer), ("y", torch.zeros(1))])
    del after["m.bias (parameter)"]
    changes = state_changes(before, after)
    assert len(changes) >= 7
    listed = "; ".join(f"`{label}`: {change}" for label, change in changes[:4])
    rest = "; ".join(f"`{label}`: {change}" for label, change in changes[4:])
    for text in (listed + f" (and {len(changes) - 4} more)", rest):
        message = failure("inputs_changed", call="MyLinear(2, 2)", changes=text)
        chinese = translate_failure(message, "zh")
        assert CJK.search(chinese) and english_runs(chinese) == [], chinese
        assert all(f"`{label}`" in chinese for label, _ in changes if f"`{label}`" in text)
    assert all("zh" in table for table in CHANGE_PHRASES.values())


# ---------------------------------------------------------------- the meta checks, for real


_SUBMISSION = '''
import torch

def scale(x):
    return x * 2

def attached(x):
    return x.detach().requires_grad_(True) * 2

def flagged(x):
    return x.detach().clone().requires_grad_(True)

def same(x):
    return x

def first_rows(x):
    return x[1:]

def fill_alias_(t, u):
    t.fill_(3.0)
    return t.detach()

def other(t, u):
    return u

def in_place(x, w):
    x.mul_(2)
    w.requires_grad_(True)
    return x
'''


@pytest.fixture(scope="module")
def worker(launcher):
    from nnlab.grader.session import WorkerSession

    session = WorkerSession(launcher, _SUBMISSION, "sample.py", [], [], 30.0)
    yield session.root
    session.close()


def test_every_meta_failure_reads_chinese(worker) -> None:
    """Does each failure of nnlab.grader.checks.meta, raised on a real worker tensor, come out
    Chinese with its names and numbers, no English sentence left; and does a right result pass?"""
    from nnlab.grader.checks import (CheckFailed, assert_detached, assert_not_view_of_input,
                                     assert_same_tensor_returned, audited_call)

    x = torch.ones(3)
    assert_detached(worker.scale(x), "scale(x)")  # right: each check passes
    assert_not_view_of_input(worker.scale(x), "scale(x)")
    assert_same_tensor_returned(worker.same(x), "same(x)", "argument 1")
    attempts = [
        lambda: assert_detached(worker.attached(x), "attached(x)"),
        lambda: assert_detached(worker.flagged(x), "flagged(x)"),
        lambda: assert_not_view_of_input(worker.same(x), "same(x)"),
        lambda: assert_not_view_of_input(worker.first_rows(x), "first_rows(x)"),
        lambda: assert_same_tensor_returned(worker.scale(x), "scale(x)"),
        lambda: assert_same_tensor_returned(worker.scale(x), "scale(x)", "x"),
        lambda: assert_same_tensor_returned(worker.fill_alias_(x, x), "fill_alias_(t)"),
        lambda: assert_same_tensor_returned(worker.fill_alias_(x, x), "fill_alias_(t)", "argument 1"),
        lambda: assert_same_tensor_returned(worker.other(x, x * 3), "other(t, u)", "argument 1"),
        lambda: audited_call(worker.in_place, (torch.ones(2), torch.ones(2)), names=("x", "w")),
    ]
    for attempt in attempts:
        with pytest.raises(CheckFailed) as caught:
            attempt()
        english = str(caught.value)
        chinese = translate_failure(english, "zh")
        assert chinese != english and CJK.search(chinese), english
        assert english_runs(chinese.replace("argument 1", "")) == [], chinese
        names = set(re.findall(r"`([^`]+)`", english)) - {"result is tensor"}
        assert all(f"`{name}`" in chinese for name in names), chinese


# ---------------------------------------------------------------- a file that cannot run


def test_the_notes_of_a_file_that_cannot_run_read_chinese(launcher, tmp_path: Path) -> None:
    """Do the grader's own notes (syntax error in a .py and in a notebook's cell, empty, not UTF-8,
    banned API) read Chinese in the report, places and names kept; and does a file that runs get
    no note?"""
    import json

    from nnlab.grader.pipeline import grade_file
    from nnlab.grader.submission import from_bytes
    from nnlab.reports import render_student_report

    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    notebook = {"cells": [{**cell, "source": "x = 1\n"}, {**cell, "source": "def f(:\n"}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    problems = [from_bytes("my_linear", tmp_path / name, raw).problem for name, raw in [
        ("my_linear.py", b"def f(:\n    pass\n"), ("my_linear.py", b"\n  \n"),
        ("my_linear.py", b"x = '\xff'\n"), ("my_linear.ipynb", json.dumps(notebook).encode())]]
    assert all(problems), problems
    assert not from_bytes("my_linear", tmp_path / "my_linear.py", b"x = 1\n").problem
    banned = grade_file(get_exercise("my_linear"), "import torch\ny = torch.nn.Linear(2, 3)\n",
                        "my_linear.py", launcher, 0, True)  # refused before any worker runs
    notes = [*problems, banned.result.note]
    assert banned.result.note.startswith("banned API in my_linear.py: line 2: ")
    for note in notes:
        chinese = translate_failure(note, "zh")
        assert CJK.search(chinese) and chinese != note, note
        assert english_runs(chinese.replace("invalid syntax", "")) == [], chinese
        assert re.findall(r"\d+", chinese) == re.findall(r"\d+", note), chinese
    result = SubmissionResult(student=None, seed=1, device="", nnlab_version="", graded_at="",
                              confinement=Confinement("full", ("rlimits",)),
                              exercises=(banned.result,))
    text = page_text(render_student_report(result, lang="zh"))
    assert "my_linear.py 中用了禁止使用的 API：第 2 行：" in text and "banned API" not in text


def test_every_banned_api_phrase_reads_chinese() -> None:
    """Does each way nnlab.grader.banned names a banned use (an import, a use, a computed name,
    eval) read Chinese, lines and names kept?"""
    from nnlab.grader.banned import find_banned

    source = ("import torch\nfrom torch.nn import Linear\ny = torch.nn.Linear(2, 3)\n"
              "z = getattr(torch, 'li' + 'near')\nv = eval('1')\n")
    found = find_banned(source, get_exercise("my_linear").banned)
    assert len(found) == 4
    note = "banned API in my_linear.py: " + "; ".join(v.describe() for v in found)
    chinese = translate_failure(note, "zh")
    assert english_runs(chinese) == [] and "torch.nn.Linear" in chinese, chinese
    assert re.findall(r"第 (\d+) 行", chinese) == ["2", "3", "4", "5"]

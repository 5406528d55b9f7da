"""Language choice and the CLI's own lines in English and Chinese."""
from __future__ import annotations

import os
import re
import string
import subprocess
import sys
from pathlib import Path

import click
import pytest

from nnlab.errors import UsageError
from nnlab.i18n import (FAILURES, MESSAGES, display_width, failure, pad, resolve_language,
                        translate_failure)
from nnlab.results import ExerciseResult, Outcome

CJK = re.compile(r"[\u4e00-\u9fff]")


def nnlab(*args: str, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("NNLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, cwd=cwd, timeout=600)


@pytest.mark.parametrize("option, environ, expected", [
    ("zh", {"NNLAB_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),
    (None, {"NNLAB_LANG": "zh", "LC_ALL": "en_US.UTF-8"}, "zh"),
    (None, {"NNLAB_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    (None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}, "en"),
    (None, {"LC_MESSAGES": "zh_CN", "LANG": "en_GB"}, "zh"),
    (None, {"LANG": "zh_CN.UTF-8"}, "zh"),
    (None, {"LANG": "fr_FR.UTF-8"}, "en"),
    (None, {}, "en"),
])
def test_language_precedence(option: str | None, environ: dict[str, str], expected: str) -> None:
    """Does --lang beat $NNLAB_LANG, which beats the locale (LC_ALL, LC_MESSAGES, LANG), then English?"""
    assert resolve_language(option, environ) == expected


def test_unknown_nnlab_lang_is_one_line_error() -> None:
    """Does NNLAB_LANG=fr give a one-line error naming the choices, not a silent fallback?"""
    with pytest.raises(UsageError, match="NNLAB_LANG=fr: choose one of en, zh"):
        resolve_language(None, {"NNLAB_LANG": "fr"})
    result = nnlab("list", env={"NNLAB_LANG": "fr"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("nnlab: error: NNLAB_LANG=fr")


def test_every_message_in_both_languages_with_the_same_blanks() -> None:
    """Does every CLI line exist in English and Chinese with the same values to fill in?"""
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    for key, table in MESSAGES.items():
        assert set(table) == {"en", "zh"}, key
        assert fields(table["en"]) == fields(table["zh"]), key


def test_padding_counts_chinese_characters_as_two_columns() -> None:
    """Do Chinese titles line up in a terminal (a CJK character takes two columns)?"""
    assert display_width("线性层") == 6 and display_width("MyLinear") == 8
    assert display_width(pad("线性层", 10)) == 10 and pad("abc", 5) == "abc  "


def test_list_in_chinese_lines_up() -> None:
    """Does `nnlab list --lang zh` show Chinese unit names and titles, with the points aligned?"""
    result = nnlab("list", "--lang", "zh")
    assert result.returncode == 0, result.stderr
    assert "第 1 单元 — 网络层" in result.stdout and "MyLinear：从零实现线性层" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(rows) == 24
    columns = {display_width(row[:row.index(" 分")]) for row in rows}
    assert len(columns) == 1, "the points column moves from row to row"
    english = nnlab("list", env={"LANG": "zh_CN.UTF-8", "NNLAB_LANG": "en"})
    assert "Unit 1 — Layers" in english.stdout and "第 1 单元" not in english.stdout


def test_locale_alone_switches_to_chinese() -> None:
    """Does a Chinese locale, with no option and no NNLAB_LANG, give Chinese lines?"""
    result = nnlab("list", env={"LANG": "zh_CN.UTF-8"})
    assert "共 24 道练习" in result.stdout


def test_failure_templates_translate_back() -> None:
    """Does every failure template exist in both languages, and does a message the grader wrote
    (values of any kind, `:` and newlines inside) come back in Chinese with its values intact?"""
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    tricky = {"what": "forward of MyLinear(4, 3) (odd: sizes)", "got": "(3, 2)", "expected": "(2, 3)",
              "bad": "3", "total": "12", "index": "(0, 1)", "error": "0.5", "atol": "1e-05",
              "rtol": "0.0001", "raised": "TypeError: bad\nsecond line", "input": "x (odd: name)",
              "argument": "t", "base": "argument 1", "other": "y", "call": "Model(3, 4)(odd: x)",
              "changes": "nothing the phrases know", "file": "my_linear.ipynb", "why": "bad: odd\nsecond",
              "line": "14", "cell": "3", "byte": "7", "listed": "odd (name)"}
    for key, table in FAILURES.items():
        assert set(table) == {"en", "zh"} and fields(table["en"]) == fields(table["zh"]), key
        values = {name: tricky[name] for name in fields(table["en"])}
        english = failure(key, **values)
        assert translate_failure(english, "zh") == table["zh"].format(**values), key
        assert translate_failure(english, "en") == english
    assert translate_failure("a message of the check's own", "zh") == "a message of the check's own"


def test_the_checks_failures_read_in_chinese() -> None:
    """Do the messages assert_close, assert_tensor, assert_equal and expect_raises raise translate,
    keeping the numbers?"""
    import torch

    from nnlab.errors import StudentCodeError
    from nnlab.grader.checks import (CheckFailed, assert_close, assert_equal, assert_tensor,
                                     expect_raises)

    failures = []
    attempts = [
        lambda: assert_close(torch.tensor([1.0, 2.5]), torch.tensor([1.0, 2.0]), "output", "normal"),
        lambda: assert_tensor(torch.zeros(2, 3), "output", shape=(3, 2)),
        lambda: assert_tensor(torch.zeros(2), "output", dtype=torch.float64),
        lambda: assert_tensor([1.0], "output"),
        lambda: assert_equal(3, 4, "count"),
    ]
    for attempt in attempts:
        with pytest.raises(CheckFailed) as caught:
            attempt()
        failures.append(str(caught.value))
    with pytest.raises(CheckFailed) as caught, expect_raises(ValueError, "p=2"):
        pass
    failures.append(str(caught.value))
    with pytest.raises(CheckFailed) as caught, expect_raises(ValueError, "p=2"):
        raise StudentCodeError("your code raised: TypeError: no")
    failures.append(str(caught.value))
    for english in failures:
        chinese = translate_failure(english, "zh")
        assert chinese != english and CJK.search(chinese), english
        assert sorted(re.findall(r"\d+(?:\.\d+)?", chinese)) == sorted(re.findall(r"\d+(?:\.\d+)?", english))
    assert "2 个值中有 1 个不一致" in translate_failure(failures[0], "zh")


def _graded_exercise() -> ExerciseResult:
    from nnlab.results import CheckResult, Visibility

    wrong = failure("shape", what="forward output", expected=(5, 3), got=(3, 5))
    return ExerciseResult(id="my_linear", title="MyLinear", max_score=2.0, checks=(
        CheckResult(name="Does MyLinear(4, 3) map a (5, 4) batch to (5, 3)?", test_id="test_output_shape",
                    score=1.0, max_score=1.0, outcome=Outcome.PASSED, visibility=Visibility.VISIBLE,
                    message=""),
        CheckResult(name="Does forward match nn.Linear on a small batch?", test_id="test_forward_small",
                    score=0.0, max_score=1.0, outcome=Outcome.FAILED, visibility=Visibility.HIDDEN,
                    message=wrong)))


def test_results_in_chinese_in_the_terminal() -> None:
    """With lang zh, are the labels, the check titles and the failure phrasing Chinese, lined up
    as in English; and in English, is nothing translated?"""
    from click.testing import CliRunner

    from nnlab.commands.display import echo_exercise

    def shown(lang: str) -> str:
        @click.command()
        def show() -> None:
            echo_exercise(_graded_exercise(), lang=lang)
        return CliRunner().invoke(show).output

    chinese = shown("zh")
    assert "通过" in chinese and "未通过" in chinese and "（隐藏检查）" in chinese
    assert "MyLinear(4, 3) 能把 (5, 4) 的 batch 映射为 (5, 3) 吗？" in chinese
    assert "forward output：形状应为 (5, 3)，实际为 (3, 5)" in chinese
    assert "PASS" not in chinese and "FAIL" not in chinese and "expected" not in chinese
    rows = [line for line in chinese.splitlines() if "/1" in line]
    assert len({display_width(line[:line.index("/1") - 1]) for line in rows}) == 1
    english = shown("en")
    assert "PASS" in english and "FAIL" in english and " (hidden)" in english
    assert "Does forward match nn.Linear on a small batch?" in english
    assert "forward output: expected shape (5, 3), got (3, 5)" in english


def test_help_in_chinese() -> None:
    """Do `--help` of nnlab and of every command read Chinese with --lang zh, NNLAB_LANG=zh or a
    Chinese locale, and English again without (in the same process)?"""
    from click.testing import CliRunner

    from nnlab.cli import main
    from nnlab.commands.localized_help import COMMAND_HELP_ZH, command_paths

    paths = command_paths(main)
    assert sorted(set(paths) - set(COMMAND_HELP_ZH)) == [], "commands without a Chinese help"
    assert sorted(set(COMMAND_HELP_ZH) - set(paths)) == [], "Chinese help of no command"
    runner = CliRunner()
    top = runner.invoke(main, ["--help"], env={"NNLAB_LANG": "zh"}).output
    assert "PyTorch 练习" in top and "用法：" in top
    def squeezed(text: str) -> str:  # click wraps long lines
        return re.sub(r"\s+", "", text)

    for path in paths[1:]:
        one_line = squeezed(COMMAND_HELP_ZH[path].split("\n")[0])
        chinese = runner.invoke(main, ["--lang", "zh", *path.split(), "--help"]).output
        assert one_line in squeezed(chinese), path
        assert one_line in squeezed(top) or " " in path, path  # the top level lists its commands
    assert "写出练习模板" in runner.invoke(main, ["start", "--help", "--lang", "zh"]).output
    locale_only = {"LANG": "zh_CN.UTF-8", "NNLAB_LANG": None, "LC_ALL": None, "LC_MESSAGES": None}
    assert "PyTorch 练习" in runner.invoke(main, ["--help"], env=locale_only).output
    assert "第 1 单元" in runner.invoke(main, ["--lang", "zh", "list"]).output  # nnlab --lang: every command
    english = runner.invoke(main, ["start", "--help"], env={"NNLAB_LANG": "en"}).output
    assert "Write the stub DIR/ID.py" in english and not CJK.search(english)


def test_error_prefix_and_start_hint_keep_chinese(tmp_path: Path) -> None:
    """With --lang zh on an English locale: is the error prefix Chinese, and does `nnlab start`'s
    next-step hint keep `--lang zh` (so the student's next command stays Chinese)?"""
    result = nnlab("start", "no_such_exercise", "--dir", str(tmp_path), "--lang", "zh",
                   env={"LANG": "en_US.UTF-8"})
    assert result.returncode == 2 and result.stderr.startswith("nnlab：错误："), result.stderr
    result = nnlab("start", "my_linear", "--dir", str(tmp_path / "zh"), "--lang", "zh",
                   env={"LANG": "en_US.UTF-8"})
    assert result.returncode == 0, result.stderr
    assert f"nnlab check {tmp_path / 'zh' / 'my_linear.py'} --lang zh" in result.stdout
    english = nnlab("start", "my_linear", "--dir", str(tmp_path / "en"), env={"LANG": "en_US.UTF-8"})
    assert "--lang" not in english.stdout and english.stdout.startswith("Wrote")

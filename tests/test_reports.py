"""Tests of nnlab.reports: exports, pandas summaries and the HTML reports a user opens."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from nnlab.results import (
    CheckResult,
    Confinement,
    ExerciseResult,
    Outcome,
    SubmissionResult,
    TimingInfo,
    Visibility,
    result_from_json,
)
from nnlab.review.adjustments import apply_adjustments, parse_adjustments
from nnlab.reports import (
    check_pass_rates,
    exercise_stats,
    render_student_report,
    score_table,
    write_class_report,
    write_results_json,
    write_scores_csv,
    write_student_report,
)

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert(1)</script>"
HOSTILE_MESSAGE = "expected shape (3, 4)\ngot <img src=x onerror=alert(2)>"
EXERCISES = ["my_linear", "my_relu"]
TIMING = TimingInfo(
    device="cpu (torch 2.13.0, 2 threads)", ratio=1.34, threshold=2.5, spread=0.12,
    student_s=0.0012, reference_s=0.0009, rounds=15,
)
CONFINEMENT = Confinement(level="partial", applied=("rlimits", "no_new_privs"), missing=("landlock",))


# ---------------------------------------------------------------- synthetic results


def check(name: str, outcome: Outcome, points: float, *, visible: bool = False,
          message: str = "", timing: TimingInfo | None = None) -> CheckResult:
    """A check that earns its points only when it passed."""
    return CheckResult(
        name=name, test_id=f"test_{name.replace(' ', '_')}",
        score=points if outcome is Outcome.PASSED else 0.0, max_score=points, outcome=outcome,
        visibility=Visibility.VISIBLE if visible else Visibility.HIDDEN,
        message=message, duration_s=0.125, timing=timing,
    )


def linear(forward: Outcome, speed: Outcome, *, message: str = "", timing: TimingInfo | None = None) -> ExerciseResult:
    return ExerciseResult(
        id="my_linear", title="A linear layer",
        checks=(check("forward matches nn.Linear", forward, 3.0, visible=True, message=message),
                check("speed", speed, 2.0, message="timing too noisy" if speed is Outcome.SKIPPED else "",
                      timing=timing)),
        max_score=5.0,
    )


def relu(*checks: CheckResult, note: str = "") -> ExerciseResult:
    return ExerciseResult(id="my_relu", title="ReLU", checks=checks, max_score=4.0, note=note)


def submission(student: str | None, *exercises: ExerciseResult, seed: int = 1234) -> SubmissionResult:
    return SubmissionResult(
        student=student, exercises=exercises, seed=seed, confinement=CONFINEMENT, device="cpu",
        nnlab_version="0.1.0", graded_at="2025-01-02T03:04:05Z",
    )


def class_results() -> list[SubmissionResult]:
    """alice 9/9 (one passed timing check), the hostile id 0/9, bob 3/5 (never submitted my_relu)."""
    return [
        submission("alice",
                   linear(Outcome.PASSED, Outcome.PASSED, timing=TIMING),
                   relu(check("gradient", Outcome.PASSED, 4.0))),
        submission(HOSTILE,
                   linear(Outcome.FAILED, Outcome.TIMEOUT, message=HOSTILE_MESSAGE),
                   relu(note="missing file my_relu.py")),
        submission("bob", linear(Outcome.PASSED, Outcome.SKIPPED)),
    ]


# ---------------------------------------------------------------- HTML reading helpers


class Page(HTMLParser):
    """Reads what a browser would show: table cell texts by table id, and link targets."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.links: list[str] = []
        self._text: list[str] = []
        self._table: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attributes.get("id") or "", [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        """All visible text, whitespace collapsed (style contents included, harmlessly)."""
        return " ".join("".join(self._text).split())

    def rows(self, table_id: str) -> dict[str, list[str]]:
        """Body rows of a table keyed by their first cell (header row dropped)."""
        return {row[0]: row for row in self.tables[table_id][1:]}


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rendered class report for the tests that only read it (charts take a moment)."""
    out = tmp_path_factory.mktemp("report") / "out"
    write_class_report(class_results(), EXERCISES, out)
    return out


# ---------------------------------------------------------------- exports


def test_scores_csv_has_spec_columns_and_zero_for_missing_exercises(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    write_scores_csv(class_results(), EXERCISES, path)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student", "my_linear", "my_relu", "total"]
    values = {r[0]: [float(x) for x in r[1:]] for r in rows[1:]}
    assert values == {"alice": [5.0, 4.0, 9.0], HOSTILE: [0.0, 0.0, 0.0], "bob": [3.0, 0.0, 3.0]}
    assert [r[0] for r in rows[1:]] == ["alice", HOSTILE, "bob"], "one row per student, in order"


def test_scores_csv_follows_the_given_exercise_order(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    write_scores_csv(class_results(), ["my_relu", "my_linear"], path)
    header, alice = path.read_text(encoding="utf-8").splitlines()[:2]
    assert header == "student,my_relu,my_linear,total"
    assert [float(x) for x in alice.split(",")[1:]] == [4.0, 5.0, 9.0]


def test_results_json_round_trips(tmp_path: Path) -> None:
    results = class_results()
    path = tmp_path / "results.json"
    write_results_json(results, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, list) and len(data) == 3
    assert data[0]["score"] == 9.0 and data[0]["exercises"][0]["checks"][0]["outcome"] == "passed"
    assert [result_from_json(d) for d in data] == results


def test_exercise_id_named_total_is_refused() -> None:
    with pytest.raises(ValueError, match="total"):
        score_table(class_results(), ["my_linear", "total"])


# ---------------------------------------------------------------- summaries


def test_score_table_and_exercise_stats() -> None:
    results = class_results()
    table = score_table(results, EXERCISES)
    assert list(table.columns) == ["student", *EXERCISES, "total"]
    assert table["total"].tolist() == [9.0, 0.0, 3.0]
    stats = exercise_stats(results, EXERCISES).set_index("exercise")
    assert stats.loc["my_linear", ["max_score", "mean", "median", "max"]].tolist() == [5.0, 8 / 3, 3.0, 5.0]
    assert stats.loc["my_relu", ["max_score", "mean", "median", "max"]].tolist() == [4.0, 4 / 3, 0.0, 4.0]


def test_check_pass_rates_count_each_outcome() -> None:
    rates = check_pass_rates(class_results()).set_index("test_id")
    forward = rates.loc["test_forward_matches_nn.Linear"]
    assert forward["pass_rate"] == pytest.approx(2 / 3)
    assert (forward["passed"], forward["failed"], forward["count"]) == (2, 1, 3)
    assert forward["visibility"] == "visible" and forward["points"] == 3.0
    speed = rates.loc["test_speed"]
    assert (speed["passed"], speed["timeout"], speed["skipped"], speed["count"]) == (1, 1, 1, 3)
    # The student whose my_relu file was missing ran no gradient check: 1 run, 1 pass.
    assert rates.loc["test_gradient", "pass_rate"] == 1.0 and rates.loc["test_gradient", "count"] == 1


# ---------------------------------------------------------------- class report


def test_class_report_writes_every_file(report_dir: Path) -> None:
    assert (report_dir / "index.html").is_file()
    assert (report_dir / "scores.csv").is_file()
    assert (report_dir / "results.json").is_file()
    assert len(list((report_dir / "students").glob("*.html"))) == 3


def test_index_shows_each_total_and_links_to_existing_reports(report_dir: Path) -> None:
    page = Page((report_dir / "index.html").read_text(encoding="utf-8"))
    scores = page.rows("scores")
    assert scores["alice"][1:] == ["5", "4", "9 / 9"]
    assert scores[HOSTILE][-1] == "0 / 9"
    assert scores["bob"][1:] == ["3", "—", "3 / 5"], "an exercise never submitted shows as not graded"
    student_links = set(h for h in page.links if h.startswith("students/"))
    assert len(student_links) == 3
    for href in student_links:
        assert (report_dir / href).is_file(), href
        back = Page((report_dir / href).read_text(encoding="utf-8")).links
        assert (report_dir / href).parent.joinpath(back[0]).resolve() == (report_dir / "index.html").resolve()


def test_index_shows_per_check_pass_rate(report_dir: Path) -> None:
    page = Page((report_dir / "index.html").read_text(encoding="utf-8"))
    by_check = {row[1]: row for row in page.tables["check-pass-rates"][1:]}
    forward = by_check["forward matches nn.Linear"]
    assert "67%" in forward
    header = page.tables["check-pass-rates"][0]
    assert forward[header.index("passed")] == "2" and forward[header.index("failed")] == "1"
    assert "33%" in by_check["speed"]


def test_index_shows_exercise_stats_and_run_info(report_dir: Path) -> None:
    html = (report_dir / "index.html").read_text(encoding="utf-8")
    stats = Page(html).rows("exercise-stats")
    # max, mean, median, best
    assert stats["my_linear"][2:6] == ["5", "2.67", "3", "5"]
    assert "1234" in html
    assert "partial: rlimits, no_new_privs (unavailable: landlock)" in html


def test_hostile_student_name_is_shown_literally(report_dir: Path) -> None:
    index = (report_dir / "index.html").read_text(encoding="utf-8")
    assert HOSTILE not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert HOSTILE in Page(index).rows("scores")
    reports = list((report_dir / "students").glob("*script*.html"))
    assert len(reports) == 1
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.html", reports[0].name)
    student_html = reports[0].read_text(encoding="utf-8")
    assert HOSTILE not in student_html and "<img" not in student_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in student_html


def test_reports_are_self_contained(report_dir: Path) -> None:
    """Do the reports open offline: no URL, no external script, stylesheet or image?"""
    for page in [report_dir / "index.html", *(report_dir / "students").glob("*.html")]:
        html = page.read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), page.name
        assert not re.search(r"<script[^>]*\bsrc=", html, re.IGNORECASE), page.name
        assert "<link" not in html.lower() and "<style>" in html, f"{page.name}: CSS must be inline"
        assert not re.search(r"<img[^>]*\bsrc=\"(?!data:)", html, re.IGNORECASE), page.name
    student_page = next((report_dir / "students").glob("*.html")).read_text(encoding="utf-8")
    assert "<script" not in student_page, "a student report needs no JavaScript at all"


def test_colliding_safe_names_get_distinct_files(tmp_path: Path) -> None:
    results = [submission("a b", linear(Outcome.PASSED, Outcome.PASSED)),
               submission("a_b", linear(Outcome.FAILED, Outcome.PASSED)),
               submission("A?B", linear(Outcome.FAILED, Outcome.FAILED))]
    write_class_report(results, ["my_linear"], tmp_path)
    links = [h for h in Page((tmp_path / "index.html").read_text(encoding="utf-8")).links
             if h.startswith("students/")]
    assert len({h.lower() for h in links}) == 3
    assert all((tmp_path / h).is_file() for h in links)


# ---------------------------------------------------------------- student report


def test_student_report_shows_checks_badges_and_timing(tmp_path: Path) -> None:
    alice, hostile, _ = class_results()
    html = render_student_report(alice)
    assert "9 / 9 points" in Page(html).text
    assert "1234" in html and "2025-01-02T03:04:05Z" in html and "0.1.0" in html
    assert "partial: rlimits, no_new_privs (unavailable: landlock)" in html
    # Nothing failed, so the passed checks are listed unfolded, with the speed measurement.
    assert '<details class="fold passed" open>' in html and "Fix first" not in html
    for shown in ["1.34×", "2.5×", "12%", TIMING.device]:
        assert shown in html, shown

    html = render_student_report(hostile)
    assert 'class="badge badge-failed"' in html and 'class="badge badge-timeout"' in html
    # The message keeps its line break inside a <pre> block, escaped.
    assert "<pre class=\"msg\">expected shape (3, 4)\ngot &lt;img src=x onerror=alert(2)&gt;</pre>" in html
    assert "missing file my_relu.py" in html


def test_student_report_without_student_id(tmp_path: Path) -> None:
    """Is a report without a student id titled plainly 'Score report', never 'submission'?"""
    path = tmp_path / "nested" / "report.html"
    write_student_report(submission(None, linear(Outcome.PASSED, Outcome.ERROR)), path)
    html = path.read_text(encoding="utf-8")
    assert "<title>Score report</title>" in html and "<h1>Score report</h1>" in html
    assert "submission" not in Page(html).text and "badge-error" in html


def test_student_report_title_names_the_student() -> None:
    """Does the title show the student's id when it is known (submit --student, the server)?"""
    html = render_student_report(submission("ada", linear(Outcome.PASSED, Outcome.PASSED)))
    assert "<title>Score report: ada</title>" in html and "<h1>Score report: ada</h1>" in html


# ---------------------------------------------------------------- adjustments


def adjusted_class() -> tuple[list[SubmissionResult], list[Any]]:
    """class_results with bob's my_linear raised from 3 to 4, and one row naming nobody."""
    rows = parse_adjustments("student,exercise,check,delta,override,reason,author,date\n"
                             "bob,my_linear,,1,,regrade request 12: <i>tolerance</i>,dr.li,2026-12-14\n"
                             "zed,my_linear,,1,,late enrolment,dr.li,\n")
    return apply_adjustments(class_results(), rows)


def test_an_adjusted_exercise_shows_its_reason_and_original_score() -> None:
    """Does a student's report show the adjusted score, what the checks gave, and the adjustment's
    change, reason (literally), author and date?"""
    results, _ = adjusted_class()
    html = render_student_report(results[2])
    text = Page(html).text
    assert "4 / 5 points" in text and "The checks gave 3; 1 exercise adjusted by the instructor" in text
    assert "the checks gave 3; the score is 4 / 5" in text
    [row] = [r for table in Page(html).tables.values() for r in table if r and r[-1] == "2026-12-14"]
    assert row == ["+1", "whole exercise", "regrade request 12: <i>tolerance</i>", "dr.li", "2026-12-14"]
    assert "<i>tolerance" not in html
    assert "by the instructor" not in Page(render_student_report(results[0])).text


def test_the_class_report_marks_adjusted_cells_and_lists_every_adjustment(tmp_path: Path) -> None:
    """Does the class report mark an adjusted score with the reason in its tooltip, list the
    adjustments in their own section, and put one that matched nothing under 'Needs a look'?"""
    results, unmatched = adjusted_class()
    write_class_report(results, EXERCISES, tmp_path, unmatched_adjustments=unmatched)
    html = (tmp_path / "index.html").read_text(encoding="utf-8")
    page = Page(html)
    assert page.rows("scores")["bob"][1:] == ["4✎", "—", "4 / 5"]
    assert page.rows("scores")["alice"][1:] == ["5", "4", "9 / 9"]
    assert html.count('aria-label="adjusted"') == 1
    assert ('title="adjusted from 3 to 4 by the instructor. +1: regrade request 12: &lt;i&gt;tolerance&lt;/i&gt; '
            '(dr.li)"') in html
    assert page.rows("adjustments")["bob"][1:] == ["my_linear", "whole exercise", "+1", "3 → 4 / 5",
                                                   "regrade request 12: <i>tolerance</i>", "dr.li", "2026-12-14"]
    needs_a_look = html[html.index('id="attention"'):html.index('id="distribution"')]
    assert "no student &#39;zed&#39; in these results; not applied" in needs_a_look
    exported = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))[2]["exercises"][0]
    assert (exported["score"], exported["original_score"]) == (4.0, 3.0)


# ---------------------------------------------------------------- no torch


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT), env.get("PYTHONPATH", "")] if p)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_importing_reports_does_not_import_torch() -> None:
    proc = _python("import nnlab.reports, sys; assert 'torch' not in sys.modules")
    assert proc.returncode == 0, proc.stderr


def test_rendering_reports_does_not_import_torch(tmp_path: Path) -> None:
    write_results_json(class_results(), tmp_path / "in.json")
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from nnlab.results import result_from_json\n"
        "from nnlab.reports import write_class_report\n"
        f"data = json.loads(Path({str(tmp_path / 'in.json')!r}).read_text())\n"
        "write_class_report([result_from_json(d) for d in data], ['my_linear', 'my_relu'],"
        f" Path({str(tmp_path / 'out')!r}))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "index.html").is_file()


def test_the_closing_line_names_every_file_written(report_dir: Path) -> None:
    """Does the line `nnlab grade` (and `nnlab demo`) ends with name canvas.csv and the students'
    folder beside index.html, scores.csv and results.json?"""
    from nnlab.reports.export import describe_outputs

    line = describe_outputs(report_dir)
    for name in ("index.html", "students/", "scores.csv", "canvas.csv", "results.json"):
        assert str(report_dir / name) in line, name
    assert "similarity.csv" not in line  # not written here, so not named


# ---------------------------------------------------------------- states kept apart


def _nothing(student: str) -> SubmissionResult:
    missing = ExerciseResult("my_linear", "A linear layer", (), 5.0, "my_linear.py was not submitted",
                             submitted=False)
    return submission(student, missing)


def test_a_student_who_handed_in_nothing_is_not_a_grading_problem(tmp_path: Path) -> None:
    """Is a student who handed in nothing listed under 'Nothing handed in', not under 'Might be
    a grading problem' (which then says nothing looks off)?"""
    from nnlab.reports import render_class_report

    html = render_class_report([submission("alice", linear(Outcome.PASSED, Outcome.PASSED)),
                                _nothing("zed")], ["my_linear"])
    flags = html[html.index('<div class="card flags">'):]
    flags = flags[:flags.index("</div>")]
    assert "zed" not in flags and "Nothing looks off" in flags
    card = html[html.index('id="nothing-handed-in"'):]
    assert "zed" in card[:card.index("</div>")]


def test_a_late_perfect_submission_keeps_full_marks_and_shows_the_penalty_apart(tmp_path: Path) -> None:
    """A perfect submission two days late at 10% a day: do the exercise statistics still count
    full marks (the checks' verdict), while the total, scores.csv and the student's page show the
    grade after the penalty, saying what the checks gave?"""
    from nnlab.reports import LatePenalty

    perfect = submission("ana", linear(Outcome.PASSED, Outcome.PASSED))
    write_class_report([perfect, submission("bo", linear(Outcome.PASSED, Outcome.FAILED))],
                       ["my_linear"], tmp_path, late={"ana": LatePenalty(2, 0.8)})
    page = Page((tmp_path / "index.html").read_text(encoding="utf-8"))
    stats = page.rows("exercise-stats")["my_linear"]
    assert stats[-1] == "1 (50%)"  # full marks: ana (late) counts, bo does not
    ana = page.rows("scores")["ana"]
    assert ana[1] == "5" and ana[-1].startswith("4 / 5") and "−20%" in ana[-1]
    with (tmp_path / "scores.csv").open(newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert float(rows["ana"]["total"]) == 4.0 and float(rows["ana"]["my_linear"]) == 4.0
    student = " ".join((tmp_path / "students" / "ana.html").read_text(encoding="utf-8").split())
    assert "2 days late: the checks gave 5" in student and "takes 20%" in student


def test_the_headline_mean_and_the_charts_mean_are_one_number() -> None:
    """With a mean total of exactly 54.5%, do the headline and the distribution chart show the
    same whole percentage?"""
    from nnlab.reports import render_class_report

    # Totals 100% and 9%: mean 54.5%, which float arithmetic puts a hair above or below.
    results = [submission("a", linear(Outcome.PASSED, Outcome.PASSED)),
               submission("b", ExerciseResult("my_linear", "A linear layer", (
                   check("forward matches nn.Linear", Outcome.PASSED, 0.45, visible=True),
                   check("speed", Outcome.FAILED, 4.55)), 5.0))]
    html = render_class_report(results, ["my_linear"])
    headline = re.search(r'<span class="value">([^<]+)</span><span class="what">mean total', html)
    assert headline is not None
    assert headline.group(1) == "55%" and "mean 55%" in html and "mean 54%" not in html


def test_grading_problems_are_counted_in_words() -> None:
    """Does a single student whose grading failed read '1 student: was not graded', not
    '1 student(s)'?"""
    from nnlab.reports import render_class_report

    failed = ExerciseResult("my_linear", "A linear layer", (), 5.0, "infrastructure error: worker lost")
    html = render_class_report([submission("alice", linear(Outcome.PASSED, Outcome.PASSED)),
                                submission("zed", failed)], ["my_linear"])
    text = Page(html).text
    assert "1 student: was not graded" in text and "(s)" not in text

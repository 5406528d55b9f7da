"""Tests of what the reports show a large class and a student: not submitted, what to fix, item analysis."""
from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup

from nnlab.commands.display import echo_exercise
from nnlab.grader.exercise import load_catalogue
from nnlab.reports import check_pass_rates, exercise_stats, render_student_report, write_class_report
from nnlab.reports import ExtraSection
from nnlab.reports.synthetic import flawed_check_key, synthetic_class
from nnlab.results import (
    CheckResult,
    Confinement,
    ExerciseResult,
    Outcome,
    SubmissionResult,
    Visibility,
)

N_STUDENTS = 300


def check(name: str, outcome: Outcome, points: float, message: str = "") -> CheckResult:
    return CheckResult(name, f"test_{name.replace(' ', '_')}", points if outcome is Outcome.PASSED else 0.0,
                       points, outcome, Visibility.HIDDEN, message)


def not_submitted(ex_id: str, points: tuple[float, ...] = (2.0, 3.0)) -> ExerciseResult:
    """An exercise with no file, recorded as the grader records it: every check skipped."""
    note = f"{ex_id}.py was not submitted"
    checks = tuple(check(f"check {i}", Outcome.SKIPPED, p, note) for i, p in enumerate(points))
    return ExerciseResult(ex_id, ex_id.title(), checks, sum(points), note, submitted=False)


def exercise(ex_id: str, *checks: CheckResult, note: str = "") -> ExerciseResult:
    return ExerciseResult(ex_id, ex_id.title(), checks, sum(c.max_score for c in checks), note)


def student(name: str | None, *exercises: ExerciseResult) -> SubmissionResult:
    return SubmissionResult(name, exercises, 7, Confinement("full", ("landlock",)), "cpu", "0.1.0",
                            "2025-01-02T03:04:05Z")


class Tables(HTMLParser):
    """Cell texts, classes and titles of each table by id, and every element id."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[list[str]]] = {}
        self.classes: dict[str, list[list[str]]] = {}
        self.titles: dict[str, list[list[str]]] = {}
        self.ids: list[str] = []
        self._table = ""
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"] or "")
        if tag == "table":
            self._table = attributes.get("id") or ""
        elif tag == "tr" and self._table:
            self.rows.setdefault(self._table, []).append([])
            self.classes.setdefault(self._table, []).append([])
            self.titles.setdefault(self._table, []).append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
            self.classes[self._table][-1].append(attributes.get("class") or "")
            self.titles[self._table][-1].append(attributes.get("title") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


# ---------------------------------------------------------------- not submitted


def test_a_missing_exercise_is_one_line_in_the_student_report() -> None:
    """Does a student who did one exercise of three see the other two on one line, with no
    section and no per-check note for them?"""
    html = render_student_report(student(
        "ada", exercise("linear", check("forward", Outcome.PASSED, 2.0)),
        not_submitted("relu"), not_submitted("conv")))
    line = re.search(r'<p class="not-submitted".*?</p>', html, re.DOTALL)
    assert line is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", line.group(0)).split())
    assert text == "Not submitted (2, 0 / 10 points): relu , conv"
    assert 'id="ex-relu"' not in html and 'id="ex-conv"' not in html
    assert "relu.py was not submitted" not in html
    assert "Fix first" not in html, "a missing file is not a failed check to fix"


def test_not_submitted_is_left_out_of_check_statistics() -> None:
    """Is a missing file, and a file refused as a whole, left out of a check's runs, while the
    exercise statistics count them?"""
    results = [
        student("ada", exercise("relu", check("gradient", Outcome.PASSED, 4.0))),
        student("ben", not_submitted("relu", (4.0,))),
        student("cy", exercise("relu", check("gradient", Outcome.ERROR, 4.0, "relu.py is empty"),
                               note="relu.py is empty")),
    ]
    rates = check_pass_rates(results).set_index("test_id")
    assert rates.loc["test_gradient", "count"] == 1 and rates.loc["test_gradient", "pass_rate"] == 1.0
    assert rates.loc["test_gradient", "skipped"] == 0 and rates.loc["test_gradient", "failing"] == 0
    stats = exercise_stats(results, ["relu"]).set_index("exercise").loc["relu"]
    assert (stats["submitted"], stats["not_submitted"], stats["unrunnable"], stats["full"]) == (2, 1, 1, 1)
    assert stats["mean"] == pytest.approx(4 / 3) and stats["mean_submitted"] == pytest.approx(2.0)


def test_terminal_shows_not_submitted_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Does `nnlab submit` print one line for an exercise with no file, not one per check?"""
    echo_exercise(not_submitted("relu"))
    assert capsys.readouterr().out.strip() == "relu: not submitted (0/5)"


# ---------------------------------------------------------------- the student report


def test_fix_first_lists_lost_points_most_first() -> None:
    """Are failed, crashed and timed-out checks listed at the top, most points first, with
    skipped and passed checks left out and the passed ones folded below?"""
    html = render_student_report(student("ada", exercise(
        "linear",
        check("small", Outcome.FAILED, 1.0, "expected 1, got 2"),
        check("big", Outcome.FAILED, 3.0, "shape (3,) vs (4,)"),
        check("crash", Outcome.ERROR, 2.0, "RuntimeError: boom"),
        check("noisy", Outcome.SKIPPED, 2.0, "timing too noisy"),
        check("fine", Outcome.PASSED, 4.0),
        check("slow", Outcome.TIMEOUT, 1.5, "no answer within 10 s"),
    )))
    fix = html[html.index('id="fix-first"'):html.index("</section>", html.index('id="fix-first"'))]
    order = re.findall(r"</code></a>: (\w+)", fix)
    assert order == ["big", "crash", "slow", "small"]
    assert "shape (3,) vs (4,)" in fix and "noisy" not in fix
    assert html.index('id="fix-first"') < html.index('id="ex-linear"')
    passed = re.search(r'<details class="fold passed">\s*<summary>1 passed check \(4 points\)</summary>'
                       r'.*?fine.*?</details>', html, re.DOTALL)
    assert passed is not None, "the passed check is folded, closed, below the failures"


def test_a_file_that_cannot_run_is_one_thing_to_fix() -> None:
    """Is a file refused as a whole (syntax error) one item with all its points, not one per check?"""
    note = "conv.py does not parse: invalid syntax at line 3"
    html = render_student_report(student("ada", exercise(
        "conv", *(check(f"c{i}", Outcome.ERROR, 2.0, note) for i in range(5)), note=note)))
    fix = html[html.index('id="fix-first"'):html.index("</section>", html.index('id="fix-first"'))]
    assert fix.count("<li>") == 1 and "−10" in fix and note in fix
    assert html.count(note) == 2, "the note appears in the list and once in its section, not per check"


# ---------------------------------------------------------------- the class report at scale


@pytest.fixture(scope="module")
def big_class() -> list[SubmissionResult]:
    return synthetic_class(N_STUDENTS)


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory, big_class: list[SubmissionResult]) -> Path:
    out = tmp_path_factory.mktemp("big")
    ids = [e.id for e in big_class[0].exercises]
    extra = [ExtraSection("Code similarity", Markup("<p id='planted'>3 pairs flagged</p>")),
             ExtraSection("Notes", "<p id='noted'>{{ who }} wrote this</p>",
                          {"who": "<b>eve</b>"}, anchor="notes", folded=True)]
    write_class_report(big_class, ids, out, extra_sections=extra)
    return out


def test_synthetic_class_mixes_correct_buggy_and_missing_work(big_class: list[SubmissionResult]) -> None:
    """Does the synthetic class look like a real one: 300 x 24, some full marks, some missing
    and broken files, a spread of totals, the same every time?"""
    assert len(big_class) == N_STUDENTS and {len(r.exercises) for r in big_class} == {24}
    exercises = [e for r in big_class for e in r.exercises]
    missing = sum(not e.submitted for e in exercises) / len(exercises)
    broken = sum(e.submitted and bool(e.note) for e in exercises)
    full = sum(e.submitted and e.score == e.max_score for e in exercises)
    assert 0.04 < missing < 0.15 and broken > 50 and full > 500
    totals = sorted(r.score for r in big_class)
    assert totals[0] < 0.3 * 240 < 0.9 * 240 < totals[-1]
    assert synthetic_class(3) == synthetic_class(3)


def test_class_report_has_three_inline_charts(big_report: Path) -> None:
    """Are the score distribution, the per-exercise chart and the heat map inline SVG with
    content, and every element id on the page unique?"""
    html = (big_report / "index.html").read_text(encoding="utf-8")
    charts = re.findall(r'<svg role="img" aria-label="([^"]+)".*?</svg>', html, re.DOTALL)
    assert len(charts) == 3
    for section in ("distribution", "exercises"):
        body = html[html.index(f'<section id="{section}">'):]
        svg = body[body.index("<svg"):body.index("</svg>")]
        assert svg.count("<path") > 10, section
    heat = html[html.index('<section id="heat-map">'):]
    heat = heat[heat.index("<svg"):heat.index("</svg>")]
    assert re.search(r'<image[^>]+href="data:image/png;base64,', heat), "one pixel per student x exercise"
    duplicated = [i for i, n in Counter(Tables(html).ids).items() if n > 1]
    assert duplicated == []


def test_scores_table_marks_missing_work_and_totals(big_report: Path, big_class: list[SubmissionResult]) -> None:
    """Does the scores table have a row per student, a 'not submitted' cell for each missing
    file, and each student's total in the sticky last column?"""
    page = Tables((big_report / "index.html").read_text(encoding="utf-8"))
    rows, classes = page.rows["scores"][1:], page.classes["scores"][1:]
    assert len(rows) == N_STUDENTS
    shaded = sum(c.split().count("ns") for row in classes for c in row)
    assert shaded == sum(not e.submitted for r in big_class for e in r.exercises)
    assert all("sticky-right" in row[-1] and "sticky-left" in row[0] for row in classes)
    first = big_class[0]
    assert rows[0][0] == first.student and rows[0][-1] == f"{first.score:g} / 240"


def test_checks_are_ranked_by_failures_and_the_suspect_one_is_flagged(big_report: Path) -> None:
    """Are checks ordered by how many students fail them, and is the check that strong
    students fail more than weak ones shown with a negative discrimination and flagged?"""
    html = (big_report / "index.html").read_text(encoding="utf-8")
    page = Tables(html)
    table, titles = page.rows["check-pass-rates"], page.titles["check-pass-rates"]
    header, body = table[0], table[1:]
    assert len(body) == sum(len(e.checks) for e in load_catalogue())  # one row per check
    failing = [int(row[header.index("Failing")]) for row in body]
    assert failing == sorted(failing, reverse=True)
    exercise_id, test_id = flawed_check_key()
    flawed = next(row for row, title in zip(body, titles[1:])
                  if row[0] == exercise_id and title[1] == test_id)
    assert float(flawed[header.index("Discrimination")]) < -0.1
    card = html[html.index('<div class="card flags">'):]
    card = card[:card.index("</div>")]
    assert "strong students fail it more often" in card and flawed[1][:40] in card
    others = [float(row[header.index("Discrimination")]) for row in body if row is not flawed]
    assert sum(d > 0.2 for d in others) > 150, "real checks separate strong from weak students"


def test_struggling_students_are_listed_lowest_first(big_report: Path, big_class: list[SubmissionResult]) -> None:
    """Does 'Needs a look' name the students under half marks, the lowest total first?"""
    html = (big_report / "index.html").read_text(encoding="utf-8")
    card = html[html.index("<h3>Struggling students"):]
    names = re.findall(r'<a href="students/(s\d+)\.html">', card[:card.index("</div>")])
    expected = sorted((r for r in big_class if r.score < 120), key=lambda r: (r.score, r.student))
    assert names == [r.student for r in expected]


def test_extra_sections_are_added_and_escaped(big_report: Path) -> None:
    """Does an extra section appear with a contents link: Markup as given, a template string
    rendered with its context escaped, folded when asked?"""
    html = (big_report / "index.html").read_text(encoding="utf-8")
    assert '<a href="#section-code-similarity">Code similarity</a>' in html
    assert "<p id='planted'>3 pairs flagged</p>" in html
    assert "<p id='noted'>&lt;b&gt;eve&lt;/b&gt; wrote this</p>" in html
    notes = html[html.index('<section id="notes">'):]
    assert notes.index("<details") < notes.index("noted")

"""Which upload counts for counts = "best": the gradebook, the API's results, the CSVs and the
student's own mark agree, and pick the upload whose grade (adjusted, then penalized) is highest."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlab.course import gradebook
from nnlab.course.client import counted_submission
from nnlab.course.config import Assignment, parse_course
from nnlab.course.db import Account, Database, NewAdjustment, NewSubmission
from nnlab.course.policy import counted_index, late_factor, penalized, shown_score
from nnlab.course.schemas import AssignmentInfo, Submission
from nnlab.reports import write_scores_csv
from nnlab.results import (CheckResult, Confinement, ExerciseResult, Outcome, SubmissionResult, Visibility,
                           result_from_json)
from nnlab.review.adjustments import apply_adjustments

COURSE = """
[course]
name = "Best counts"
timezone = "UTC"

[[assignment]]
id = "hw"
title = "Two exercises"
exercises = ["leaky_relu", "regression_losses"]
due = "2026-12-10T23:59:00"
late_until = "2026-12-13T23:59:00"
late_penalty_per_day = 0.10
attempts_per_hour = 0
counts = "best"
hidden_feedback = "immediate"
"""
ON_TIME = dt.datetime(2026, 12, 9, 10, tzinfo=dt.timezone.utc)
TWO_DAYS_LATE = dt.datetime(2026, 12, 12, 10, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 12, 12, 12, tzinfo=dt.timezone.utc)


def _assignment() -> Assignment:
    return parse_course(COURSE, Path("course.toml"), {"leaky_relu", "regression_losses"}).assignment("hw")


def _result(leaky: float, losses: float) -> SubmissionResult:
    """ada's result: two checks of 5 points in each exercise, `leaky` and `losses` points given."""
    def exercise(ex_id: str, points: float) -> ExerciseResult:
        checks = tuple(CheckResult(f"check {i}", f"test_{i}", min(5.0, max(0.0, points - 5.0 * i)), 5.0,
                                   Outcome.PASSED if points >= 5.0 * (i + 1) else Outcome.FAILED,
                                   Visibility.VISIBLE, "") for i in range(2))
        return ExerciseResult(ex_id, ex_id, checks, 10.0)
    return SubmissionResult("ada", (exercise("leaky_relu", leaky), exercise("regression_losses", losses)), 1,
                            Confinement("full", ()), "cpu", "0", "2026-12-12T10:00:00+00:00")


def _graded(db: Database, ident: str, result: SubmissionResult, when: dt.datetime, late_days: int) -> None:
    db.accept(NewSubmission(ident, "ada", "hw", when, late_days, json.dumps(["leaky_relu.py"]), 1), 0)
    row = db.claim_next()
    assert row is not None and row["id"] == ident
    db.finish(row["seq"], "done", json.dumps(result.to_json()), result.score, result.max_score)


def _adjust(db: Database, exercise: str, kind: str, points: float) -> None:
    db.add_adjustment(NewAdjustment(assignment="hw", student="ada", exercise=exercise, check="", kind=kind,
                                    points=points, reason="decided", author="instructor", created_at="t"))


def _everyone(db: Database, assignment: Assignment) -> dict[str, Any]:
    """Who counts, and for how much, as each place tells it."""
    [grade] = gradebook.grades(db, assignment)
    [counted] = gradebook.counted_results(db, assignment)
    with_path = Path(db.path.parent / "scores.csv")
    write_scores_csv([result_from_json(r) for r in gradebook.counted_results(db, assignment)],
                     assignment.exercises, with_path)
    scores = {row["student"]: row for row in csv.DictReader(io.StringIO(with_path.read_text()))}
    canvas = {row[0]: row for row in csv.reader(io.StringIO(gradebook.canvas_csv(db, assignment))) if row}
    student = Account("ada", "student")
    mine = [Submission.model_validate(gradebook.submission_json(row, student, assignment, NOW, db))
            for row in db.submissions("ada", "hw")]
    info = AssignmentInfo.model_validate({**assignment.to_json(), "closed": False, "late_days_now": 2})
    mark = counted_submission(info, mine)
    assert mark.known, "every check is shown: the student is told which upload counts"
    return {"gradebook": grade.row["id"] if grade.row else None, "api": counted["submission_id"],
            "api_score": counted["score"], "csv_total": float(scores["ada"]["total"]),
            "csv": [float(scores["ada"][e]) for e in assignment.exercises],
            "canvas": [float(v) for v in canvas["ada"][-len(assignment.exercises):]],
            "student": mark.submission_id,
            "shown": {s.id: s.score for s in mine}}


SCENARIOS = {
    # An override takes leaky_relu from every upload: the late upload, worse on the checks, is the
    # better grade (8 against 0); ranked before the adjustment the on-time one (10 against 8) counted.
    "override_makes_the_late_upload_best": (
        [("A", (10, 0), ON_TIME, 0), ("B", (0, 10), TWO_DAYS_LATE, 2)],
        [("leaky_relu", "override", 0.0)], "B", 8.0),
    # Full points on regression_losses for every upload: the on-time upload is now the better grade
    # (20 against 16); before the adjustment the late one was (12 against 10).
    "bonus_makes_the_on_time_upload_best": (
        [("A", (10, 0), ON_TIME, 0), ("B", (10, 5), TWO_DAYS_LATE, 2)],
        [("regression_losses", "override", 10.0)], "A", 20.0),
    "no_adjustment_better_but_late": (
        [("A", (10, 0), ON_TIME, 0), ("B", (10, 5), TWO_DAYS_LATE, 2)], [], "B", 12.0),
    # 12 on the checks, but 9.6 after two days' penalty: the on-time 10 is the better grade.
    "the_penalty_makes_the_better_checks_worse": (
        [("A", (10, 0), ON_TIME, 0), ("B", (10, 2), TWO_DAYS_LATE, 2)], [], "A", 10.0),
    "a_tie_after_the_penalty_goes_to_the_later": (
        [("A", (8, 0), ON_TIME, 0), ("B", (10, 0), TWO_DAYS_LATE, 2)], [], "B", 8.0),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_place_counts_the_upload_with_the_best_grade(tmp_path: Path, name: str) -> None:
    """With uploads whose order changes once the instructor's adjustments apply: do the gradebook,
    the results API, scores.csv, canvas.csv and the student's own mark name the same upload, the
    one with the highest grade after adjustments and late penalty, for that grade?"""
    uploads, adjustments, expected, grade = SCENARIOS[name]
    db = Database(tmp_path)
    assignment = _assignment()
    for ident, (leaky, losses), when, late in uploads:
        _graded(db, ident, _result(leaky, losses), when, late)
    for exercise, kind, points in adjustments:
        _adjust(db, exercise, kind, points)
    seen = _everyone(db, assignment)
    assert max(seen["shown"].values()) == grade, seen["shown"]
    assert (seen["gradebook"], seen["api"], seen["student"]) == (expected, expected, expected), seen
    assert seen["api_score"] == seen["csv_total"] == grade
    assert seen["canvas"] == seen["csv"] and round(sum(seen["csv"]), 6) == grade, seen


def _thirds() -> SubmissionResult:
    """ada's result: three checks of a third of a point in each exercise, all passed."""
    def exercise(ex_id: str) -> ExerciseResult:
        checks = tuple(CheckResult(f"check {i}", f"test_{i}", 0.333333, 0.333333, Outcome.PASSED,
                                   Visibility.VISIBLE, "") for i in range(3))
        return ExerciseResult(ex_id, ex_id, checks, 0.999999)
    return SubmissionResult("ada", (exercise("leaky_relu"), exercise("regression_losses")), 1,
                            Confinement("full", ()), "cpu", "0", "2026-12-12T10:00:00+00:00")


def test_the_exports_say_the_shown_score_to_the_last_digit(tmp_path: Path) -> None:
    """Six checks of a third of a point, two days late (80 % left): the student is shown
    1.599998, and so do the results API, scores.csv and canvas.csv (rounding each penalized
    check on its own gave them 1.599996)."""
    db = Database(tmp_path)
    _graded(db, "A", _thirds(), TWO_DAYS_LATE, 2)
    seen = _everyone(db, _assignment())
    assert seen["shown"] == {"A": 1.599998}
    assert seen["api_score"] == seen["csv_total"] == 1.599998
    assert seen["canvas"] == seen["csv"] and round(sum(seen["csv"]), 6) == 1.599998, seen


def test_the_rule_itself() -> None:
    """counted_index: the last for "last" (scores never asked), the highest shown score for
    "best", the later on a tie, nothing for no upload."""
    asked: list[int] = []

    def shown(i: int) -> float:
        asked.append(i)
        return [7.0, 9.0, 9.0, 3.0][i]

    assert counted_index(4, "last", shown) == 3 and asked == []
    assert counted_index(4, "best", shown) == 2
    assert counted_index(0, "best", shown) is None and counted_index(0, "last", shown) is None
    assert shown_score(10.0, 0.8) == 8.0 and shown_score(1 / 3, 0.9) == 0.3


def test_a_stored_score_is_the_adjusted_score_without_adjustments() -> None:
    """The gradebook ranks a student without adjustments on the stored score rather than reading
    every result: is that the score the adjusted result gives, for awkward fractions too?"""
    result = _result(1 / 3 + 5, 10 / 3)
    stored = result_from_json(json.loads(json.dumps(result.to_json())))
    [adjusted], _ = apply_adjustments([stored], [])
    assert adjusted.score == result.score
    for factor in (1.0, 0.9, 0.7):
        assert shown_score(adjusted.score, factor) == shown_score(result.score, factor)


SERVED_COURSE = """
[course]
name = "Best counts, served"
timezone = "Asia/Shanghai"

[[assignment]]
id = "hw1"
title = "Two exercises without a timing check"
exercises = ["leaky_relu", "regression_losses"]
due = "2026-12-10T23:59:00"
late_until = "2026-12-13T23:59:00"
late_penalty_per_day = 0.10
attempts_per_hour = 50
counts = "best"
hidden_feedback = "immediate"
"""


@pytest.mark.slow  # grades two uploads on a real server
def test_a_real_server_and_the_students_status_agree(tmp_path: Path) -> None:
    """ada uploads leaky_relu right on time, then regression_losses right two days late (8 after the
    penalty); the instructor overrides leaky_relu to 0 for her. Do the results API, scores.csv,
    her feedback pages and her `nnlab status` all count the late upload, the better grade, though
    the on-time one was better before the adjustment?"""
    from test_course_server import BEFORE_DUE, LATE, SOLUTIONS, Served, add_accounts, call, nnlab, upload, wait_graded
    from webclient import Browser

    stubs = SOLUTIONS.parent / "exercises"
    on_time = {"leaky_relu.py": (SOLUTIONS / "leaky_relu.py").read_bytes(),
               "regression_losses.py": (stubs / "regression_losses" / "stub.py").read_bytes()}
    late = {"leaky_relu.py": (stubs / "leaky_relu" / "stub.py").read_bytes(),
            "regression_losses.py": (SOLUTIONS / "regression_losses.py").read_bytes()}
    (tmp_path / "course.toml").write_text(SERVED_COURSE, encoding="utf-8")
    tokens = add_accounts(tmp_path / "data")
    ids = []
    for clock, files in ((BEFORE_DUE, on_time), (LATE, late)):
        served = Served(tmp_path / "course.toml", tmp_path / "data", clock)
        status, _, accepted = call(served.url, "POST", "/api/v1/submissions", tokens["ada"], upload(files))
        assert status == 202, accepted
        assert wait_graded(served, tokens["ada"], [accepted["id"]])[0]["status"] == "done"
        ids.append(accepted["id"])
        if clock == BEFORE_DUE:
            served.stop()
    try:
        before = [call(served.url, "GET", f"/api/v1/submissions/{i}", tokens["instructor"])[2]["score"]
                  for i in ids]
        assert before[0] > before[1], f"the on-time upload must be ahead before the adjustment: {before}"
        status, _, added = call(served.url, "POST", "/api/v1/assignments/hw1/adjustments", tokens["instructor"],
                                {"student": "ada", "exercise": "leaky_relu", "override": 0,
                                 "reason": "leaky_relu was copied"})
        assert status == 201 and added["applied"], added
        after = [call(served.url, "GET", f"/api/v1/submissions/{i}", tokens["ada"])[2]["score"] for i in ids]
        assert after[1] > after[0], f"the late upload must be ahead after it: {after}"
        results = call(served.url, "GET", "/api/v1/assignments/hw1/results", tokens["instructor"])[2]
        [ada] = [r for r in results if r["student"] == "ada"]
        scores = call(served.url, "GET", "/api/v1/assignments/hw1/scores.csv", tokens["instructor"])[2]
        [row] = [r for r in csv.DictReader(io.StringIO(scores)) if r["student"] == "ada"]
        browser = Browser(served.url)
        assert browser.sign_in(tokens["ada"]).status == 303
        page = browser.get("/assignments/hw1").text
        env = {"NNLAB_SERVER": served.url, "NNLAB_TOKEN": tokens["ada"], "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
        shown = nnlab("status", "--assignment", "hw1", env=env)
    finally:
        served.stop()
    assert ada["submission_id"] == ids[1] and ada["score"] == float(row["total"]) == after[1]
    counted_line = page.split("<dt>Counted</dt>")[1].split("</dd>")[0]  # the assignment page's mark
    assert f'href="/submissions/{ids[1]}"' in counted_line, counted_line
    assert shown.returncode == 0, shown.stderr
    lines = {i: next(line for line in shown.stdout.splitlines() if i in line) for i in ids}
    assert lines[ids[1]].endswith("<- counts") and "counts" not in lines[ids[0]], shown.stdout


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 5_000_000), min_size=1, max_size=12), min_size=1, max_size=24),
       st.integers(0, 9))
def test_a_penalized_total_is_always_the_shown_score(units: list[list[int]], days: int) -> None:
    """Any check scores (to six decimals, as results keep them), any late days at 10 % a day:
    the penalized exercises sum to the shown score exactly, each penalized check is within a
    millionth of its exact share, and a check that scored nothing still scores nothing."""
    exercises = tuple(ExerciseResult(f"e{e}", f"e{e}", tuple(
        CheckResult(f"c{i}", f"test_{i}", u / 1e6, 5.0, Outcome.PASSED, Visibility.VISIBLE, "")
        for i, u in enumerate(checks)), 5.0 * len(checks)) for e, checks in enumerate(units))
    result = SubmissionResult("ada", exercises, 1, Confinement("full", ()), "cpu", "0", "t")
    factor = late_factor(days, 0.10)
    final = penalized(result, factor)
    assert final.score == shown_score(result.score, factor)
    for before, after in zip(result.exercises, final.exercises):
        for check, scaled in zip(before.checks, after.checks):
            assert abs(scaled.score - check.score * factor) <= 1.000001e-6
            assert scaled.score == 0 or check.score != 0

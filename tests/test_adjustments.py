"""Instructor adjustments: applied after grading, traceable, kept across regrades, never silently lost."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnlab.errors import UsageError
from nnlab.grader.launcher import WorkerLauncher
from nnlab.results import (Adjustment, CheckResult, Confinement, ExerciseResult, Kind, Outcome,
                           SubmissionResult, UnknownAdjustmentKind, Visibility, result_from_json)
from nnlab.review.adjustments import (COLUMNS, AdjustmentRow, adjust_result, apply_adjustments,
                                      apply_adjustments_file, parse_adjustments)

HEADER = "student,exercise,check,delta,override,reason,author,date\n"


def _check(test_id: str, score: float, max_score: float) -> CheckResult:
    outcome = Outcome.PASSED if score == max_score else Outcome.FAILED
    return CheckResult(test_id.replace("_", " "), test_id, score, max_score, outcome,
                       Visibility.HIDDEN, "" if score == max_score else "max abs error 0.4")


def _result(student: str, forward: float = 3.0, grads: float = 0.0) -> SubmissionResult:
    """my_linear with two checks (forward 3 points, grads 2 points) and mlp with one (5 points)."""
    linear = ExerciseResult("my_linear", "Linear", (_check("test_forward", forward, 3.0),
                                                    _check("test_grads", grads, 2.0)), 5.0)
    mlp = ExerciseResult("mlp", "MLP", (_check("test_mlp", 5.0, 5.0),), 5.0)
    return SubmissionResult(student, (linear, mlp), 7, Confinement("full", ("rlimits",)), "cpu",
                            "0.1.0", "2026-12-14T09:00:00+00:00")


def _apply(rows_text: str, *results: SubmissionResult) -> tuple[list[SubmissionResult], list]:
    return apply_adjustments(list(results), parse_adjustments(HEADER + rows_text))


def _exercise(result: SubmissionResult, exercise_id: str) -> ExerciseResult:
    return next(e for e in result.exercises if e.id == exercise_id)


def test_a_delta_changes_the_score_and_keeps_the_original_and_reason() -> None:
    """Does a delta add its points to the exercise, with the original score, reason, author and
    date kept beside the adjusted one, and the totals follow?"""
    [adjusted], unmatched = _apply("ana,my_linear,,1.5,,regrade request 12,dr.li,2026-12-14\n",
                                   _result("ana"))
    linear = _exercise(adjusted, "my_linear")
    assert unmatched == []
    assert (linear.score, linear.original_score) == (4.5, 3.0)
    assert (adjusted.score, adjusted.original_score) == (9.5, 8.0)
    [record] = linear.adjustments
    assert (record.kind, record.points, record.change) == ("delta", 1.5, 1.5)
    assert (record.reason, record.author, record.date) == ("regrade request 12", "dr.li", "2026-12-14")
    assert [c.score for c in linear.checks] == [3.0, 0.0]  # the checks stay as graded


def test_scores_are_clamped_to_zero_and_the_maximum() -> None:
    """Does a delta past the maximum stop at full marks, and a penalty larger than the score stop
    at zero, each recording what it really changed?"""
    [adjusted], _ = _apply("ana,my_linear,,10,,bonus,dr.li,\nana,mlp,,-8,,integrity case 3,dr.li,\n",
                           _result("ana"))
    assert _exercise(adjusted, "my_linear").score == 5.0
    assert _exercise(adjusted, "my_linear").adjustments[0].change == 2.0
    assert _exercise(adjusted, "mlp").score == 0.0
    assert _exercise(adjusted, "mlp").adjustments[0].change == -5.0


def test_an_override_sets_the_points() -> None:
    """Does an override set the exercise's points whatever the checks gave?"""
    [adjusted], _ = _apply("ana,my_linear,,,4,partial credit: right idea,dr.li,2026-12-14T10:30\n",
                           _result("ana", forward=0.0))
    linear = _exercise(adjusted, "my_linear")
    assert (linear.score, linear.original_score, linear.adjustments[0].change) == (4.0, 0.0, 4.0)


def test_check_level_adjustments_stay_within_the_check() -> None:
    """Does an adjustment naming a check change only that check's share, and never push it past
    the check's own maximum?"""
    [adjusted], _ = _apply("ana,my_linear,test_grads,,2,tolerance too strict,dr.li,\n"
                           "ana,my_linear,test_forward,5,,typo in the statement,dr.li,\n",
                           _result("ana", forward=2.0, grads=0.0))
    linear = _exercise(adjusted, "my_linear")
    assert [a.change for a in linear.adjustments] == [2.0, 1.0]
    assert linear.score == 5.0


def test_rows_that_match_nothing_are_reported_with_their_line() -> None:
    """Is every row naming an unknown student, exercise or check reported with its line, while
    the rows that do match are still applied?"""
    rows = ("nobody,my_linear,,1,,x,dr.li,\n"
            "ana,conv2d,,1,,x,dr.li,\n"
            "ana,my_linear,test_renamed,1,,x,dr.li,\n"
            "ana,mlp,,-1,,late by a day,dr.li,\n")
    [adjusted], unmatched = _apply(rows, _result("ana"))
    assert [u.row.line for u in unmatched] == [2, 3, 4]
    described = [u.describe() for u in unmatched]
    assert "nobody" in described[0] and "conv2d" in described[1] and "test_renamed" in described[2]
    assert all("not applied" in d for d in described)
    assert _exercise(adjusted, "mlp").score == 4.0


def test_adjustments_survive_a_regrade() -> None:
    """Does applying the same file to a fresh regrade give the same adjusted score, applying it
    twice change nothing, and a delta still apply when a check's score changed?"""
    rows = parse_adjustments(HEADER + "ana,my_linear,,1,,regrade request,dr.li,\n"
                                      "ana,mlp,,,3,integrity: partial,dr.li,\n")
    [first], _ = apply_adjustments([_result("ana")], rows)
    [again], _ = apply_adjustments([_result("ana")], rows)
    [twice], _ = apply_adjustments([first], rows)
    assert first.score == again.score == twice.score == 7.0
    assert len(_exercise(twice, "my_linear").adjustments) == 1
    [changed], _ = apply_adjustments([_result("ana", forward=1.0)], rows)
    assert _exercise(changed, "my_linear").score == 2.0 and _exercise(changed, "mlp").score == 3.0


def test_adjusted_results_round_trip_through_json() -> None:
    """Does results.json carry the adjusted score, the original one and each adjustment, and
    rebuild the same result?"""
    [adjusted], _ = _apply("ana,my_linear,test_grads,1,,tolerance,dr.li,2026-12-14\n", _result("ana"))
    data = json.loads(json.dumps(adjusted.to_json()))
    linear = data["exercises"][0]
    assert (linear["score"], linear["original_score"]) == (4.0, 3.0)
    assert linear["adjustments"] == [{"check": "test_grads", "kind": "delta", "points": 1.0, "change": 1.0,
                                      "reason": "tolerance", "author": "dr.li", "date": "2026-12-14"}]
    assert data["score"] == 9.0 and data["original_score"] == 8.0
    assert result_from_json(data) == adjusted


UNKNOWN_KIND = "unknown adjustment kind 'bonus' (expected 'delta' or 'override')"
"""The one message every reader and constructor of adjustments gives for a kind it does not know."""


@pytest.mark.parametrize("kind", list(Kind))
def test_each_kind_round_trips_the_csv_and_results_json_unchanged(kind: Kind) -> None:
    """Is a kind read from its adjustments.csv column written to results.json as the same plain
    string, read back as the same Kind, and formatted as its value in text?"""
    assert COLUMNS == ("student", "exercise", "check", "delta", "override", "reason", "author", "date")
    points = "1," if kind is Kind.DELTA else ",4"
    [row] = parse_adjustments(HEADER + f"ana,my_linear,,{points},why,dr.li,\n")
    assert row.kind is kind and f"{row.kind}" == str(row.kind) == kind.value
    [adjusted], _ = apply_adjustments([_result("ana")], [row])
    text = json.dumps(adjusted.to_json())
    assert f'"kind": "{kind.value}"' in text
    again = result_from_json(json.loads(text))
    assert again == adjusted and _exercise(again, "my_linear").adjustments[0].kind is kind
    assert json.dumps(again.to_json()) == text


def test_an_unknown_kind_is_refused_with_one_message() -> None:
    """Is a kind that is neither delta nor override refused with the same one-line user error
    by the applied record, the CSV row record and a results.json being read?"""
    [adjusted], _ = _apply("ana,my_linear,,1,,why,dr.li,\n", _result("ana"))
    data = json.loads(json.dumps(adjusted.to_json()))
    data["exercises"][0]["adjustments"][0]["kind"] = "bonus"
    entries = [
        lambda: Adjustment(kind="bonus", points=1.0, change=1.0, reason="r", author="a"),
        lambda: AdjustmentRow(source="x.csv", line=2, student="ana", exercise="mlp", kind="bonus",
                              points=1.0, reason="r", author="a"),
        lambda: result_from_json(data),
        lambda: Kind.parse("bonus"),
    ]
    for entry in entries:
        with pytest.raises(UnknownAdjustmentKind) as refused:
            entry()
        assert str(refused.value) == UNKNOWN_KIND
        assert isinstance(refused.value, UsageError)


@pytest.mark.parametrize("rows, fragment", [
    ("ana,my_linear,,one,,x,dr.li,\n", "line 2: delta 'one' is not a number"),
    ("ana,my_linear,,1,2,x,dr.li,\n", "line 2: give a delta or an override, not both"),
    ("ana,my_linear,,,,x,dr.li,\n", "line 2: give a delta or an override"),
    ("ana,my_linear,,1,,,dr.li,\n", "line 2: reason must not be empty"),
    ("\nana,my_linear,,1,,x,dr.li,yesterday\n", "line 3: date 'yesterday'"),
    ("ana,my_linear,,nan,,x,dr.li,\n", "line 2: delta 'nan' is not a finite"),
    ("ana,my_linear,,1,,x,dr.li,,extra\n", "line 2: more fields"),
])
def test_a_malformed_row_is_a_usage_error_naming_its_line(rows: str, fragment: str) -> None:
    """Is a malformed row refused with a one-line error that names its line?"""
    with pytest.raises(UsageError, match=fragment):
        parse_adjustments(HEADER + rows, "adjustments.csv")


def test_headers_are_checked(tmp_path: Path) -> None:
    """Are a misspelt column, a missing required one and a file that is not UTF-8 refused, and a
    spreadsheet's byte-order mark and blank lines accepted?"""
    with pytest.raises(UsageError, match="unknown column.*'overide'"):
        parse_adjustments("student,exercise,overide,reason,author\n")
    with pytest.raises(UsageError, match="missing column.*author"):
        parse_adjustments("student,exercise,delta,reason\n")
    path = tmp_path / "adjustments.csv"
    path.write_bytes(b"student,exercise,delta,reason,author\nana,mlp,1,\xff,x\n")
    with pytest.raises(UsageError, match="not UTF-8"):
        apply_adjustments_file([_result("ana")], path)
    path.write_bytes("\ufeffStudent,exercise,delta,reason,author\n\nana,mlp,-1,late,dr.li\n".encode())
    [adjusted], unmatched = apply_adjustments_file([_result("ana")], path)
    assert unmatched == [] and adjusted.score == 7.0


def test_the_server_adjusts_one_student_without_reporting_the_others() -> None:
    """Does adjusting one student's result apply their rows only, and report only their own rows
    that match nothing?"""
    rows = parse_adjustments(HEADER + "ana,mlp,,-1,,late,dr.li,\nbo,mlp,,-2,,late,dr.li,\n"
                                      "ana,nope,,1,,x,dr.li,\n")
    adjusted, unmatched = adjust_result(_result("ana"), rows)
    assert adjusted.score == 7.0 and [u.row.line for u in unmatched] == [4]


def test_a_real_regrade_gets_the_same_adjusted_score(launcher: WorkerLauncher, tmp_path: Path) -> None:
    """Graded twice with different seeds, does a submission get the same adjusted score from the
    same adjustments file, with a check named by its real test id?"""
    from nnlab.grader.pipeline import GradeRequest, grade_student

    folder = Path(__file__).parent.parent / "nnlab" / "demo" / "class" / "ben"
    request = GradeRequest(folder, student="ben", seed=1, exercise_ids=("my_linear",))
    graded = grade_student(request, launcher)
    failed = next(c for c in graded.exercises[0].checks if c.score < c.max_score)
    path = tmp_path / "adjustments.csv"
    path.write_text(HEADER + f"ben,my_linear,{failed.test_id},,{failed.max_score},ambiguous statement,dr.li,\n"
                             "ben,my_linear,,-0.5,,style,dr.li,\n")
    [first], unmatched = apply_adjustments_file([graded], path)
    regraded = grade_student(GradeRequest(folder, student="ben", seed=2, exercise_ids=("my_linear",)),
                             launcher)
    [second], _ = apply_adjustments_file([regraded], path)
    assert unmatched == []
    assert first.score == second.score == graded.score + failed.max_score - failed.score - 0.5

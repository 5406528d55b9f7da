"""Views of stored submissions: what a student may see, and the instructor's counted grades."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nnlab.course import adjust, extensions
from nnlab.course.adjust import ServerUnmatched
from nnlab.course.config import Assignment
from nnlab.course.db import Account, Database
from nnlab.course.policy import (Counted, apply_gradebook, counted_index, penalty_factor, shown_score,
                                 student_view)
from nnlab.results import Confinement, ExerciseResult, SubmissionResult, result_from_json


def stored_result(row: dict[str, Any]) -> SubmissionResult | None:
    return result_from_json(json.loads(row["result"])) if row.get("result") else None


def counted(result: SubmissionResult, stored: Sequence[dict[str, Any]], days: int,
            assignment: Assignment) -> tuple[Counted, list[ServerUnmatched]]:
    """The result with the instructor's stored adjustments and the late penalty applied, by the
    gradebook arithmetic `nnlab grade` also uses (read-time only: what is stored stays as graded,
    so a regrade keeps every adjustment)."""
    rows = [adjust.to_row(a) for a in stored]
    [grade], missed = apply_gradebook([result], rows, {result.student or "": days},
                                      assignment.late_penalty_per_day)
    return grade, adjust.unmatched(missed)


def adjusted(result: SubmissionResult, stored: Sequence[dict[str, Any]]
             ) -> tuple[SubmissionResult, list[ServerUnmatched]]:
    """The result with the instructor's stored adjustments applied, before any late penalty."""
    [grade], missed = apply_gradebook([result], [adjust.to_row(a) for a in stored], {}, 0.0)
    return grade.adjusted, adjust.unmatched(missed)


def _meta(row: dict[str, Any], assignment: Assignment, raw_score: float) -> dict[str, Any]:
    factor = penalty_factor(int(row["late_days"]), assignment)
    return {"submission_id": row["id"], "submitted_at": row["submitted_at"],
            "late_days": row["late_days"], "late_penalty": round(1.0 - factor, 6),
            "raw_score": raw_score}


def instructor_result(row: dict[str, Any], assignment: Assignment,
                      stored: Sequence[dict[str, Any]] = ()) -> dict[str, Any] | None:
    """The whole result, adjusted, with the late penalty applied, plus the score before it
    (`raw_score`, adjusted): score = raw_score x (1 - late_penalty)."""
    result = stored_result(row)
    if result is None:
        return None
    grade = counted(result, stored, int(row["late_days"]), assignment)[0]
    return {**grade.final.to_json(), **_meta(row, assignment, grade.adjusted.score)}


def submission_json(row: dict[str, Any], viewer: Account, assignment: Assignment,
                    now: dt.datetime, db: Database) -> dict[str, Any]:
    """GET /api/v1/submissions/{id}: the row, and its result as this viewer may see it, with
    the instructor's adjustments to this student's grade on this assignment applied, and late
    days counted against the student's own due date (an extension)."""
    extension = extensions.granted(db, assignment.id, row["student"]).get(row["student"])
    row = extensions.with_late_days(row, assignment, extension)
    assignment = extensions.effective(assignment, extension)
    data: dict[str, Any] = {
        "id": row["id"], "student": row["student"], "assignment": row["assignment"],
        "status": row["status"], "submitted_at": row["submitted_at"], "late_days": row["late_days"],
        "files": json.loads(row["files"]), "result": None, "score": None, "max_score": None,
    }
    if row["status"] == "queued":
        data["queue_position"] = db.queue_position(row["seq"])
        estimate = db.queue_estimate(data["queue_position"], now)
        if estimate is not None:
            data["queue_estimate_s"] = round(estimate)
    if row["status"] == "error":
        data["error"] = row["error"] or "the grader failed"
    result = stored_result(row) if row["status"] == "done" else None
    if result is not None:
        stored = db.adjustments(assignment.id, row["student"])
        if viewer.role == "instructor":
            view = instructor_result(row, assignment, stored)
        else:
            view = student_view(adjusted(result, stored)[0], assignment, now, int(row["late_days"]))
        data.update(result=view, score=view["score"] if view else None,
                    max_score=view["max_score"] if view else None)
    return data


def not_submitted(student: str, assignment: Assignment) -> SubmissionResult:
    """A roster student with no graded upload: every exercise 'not submitted', zero of the same maximum."""
    from nnlab import __version__
    from nnlab.grader.exercise import get_exercise

    exercises = []
    for ex_id in assignment.exercises:
        exercise = get_exercise(ex_id)
        exercises.append(ExerciseResult(ex_id, exercise.title, (), exercise.points,
                                        f"{ex_id}.py was not submitted", submitted=False))
    return SubmissionResult(student, tuple(exercises), 0, Confinement("none", ()), "", __version__, "")


@dataclass(frozen=True)
class Grade:
    """One student's counted grade on an assignment, before it is turned into JSON."""

    counted: Counted
    """The counted upload's result, adjusted, and its late penalty."""
    row: dict[str, Any] | None
    """The counted upload's row; None when the student has no graded upload."""
    unmatched: list[ServerUnmatched]
    """The student's adjustments that matched nothing in the result."""

    @property
    def result(self) -> SubmissionResult:
        """The result with the adjustments applied, before the late penalty."""
        return self.counted.adjusted

    @property
    def factor(self) -> float:
        """What the late penalty leaves (1.0 when on time)."""
        return self.counted.factor

    def to_json(self, assignment: Assignment) -> dict[str, Any]:
        """results.json form, penalty applied, with the submission's facts beside it."""
        if self.row is None:
            return {**self.counted.final.to_json(), "submission_id": None, "submitted_at": None,
                    "late_days": 0, "late_penalty": 0.0, "raw_score": self.result.score}
        return {**self.counted.final.to_json(), **_meta(self.row, assignment, self.result.score)}


def _grade(student: str, rows: list[dict[str, Any]], assignment: Assignment,
           stored: Sequence[dict[str, Any]]) -> Grade:
    done: dict[int, tuple[Counted, list[ServerUnmatched]]] = {}

    def graded(i: int) -> tuple[Counted, list[ServerUnmatched]]:
        if i not in done:
            result = stored_result(rows[i]) or not_submitted(student, assignment)
            done[i] = counted(result, stored, int(rows[i]["late_days"]), assignment)
        return done[i]

    # Without adjustments an upload's shown score is its stored score after the penalty: no
    # result is read to rank them.
    index = counted_index(len(rows), assignment.counts,
                          lambda i: graded(i)[0].shown if stored else float(rows[i]["shown_score"]))
    if index is None:
        grade, missed = counted(not_submitted(student, assignment), stored, 0, assignment)
        return Grade(grade, None, missed)
    grade, missed = graded(index)
    return Grade(grade, rows[index], missed)


def grades(db: Database, assignment: Assignment, student: str | None = None) -> list[Grade]:
    """Each student's counted grade, roster order (`student` narrows it to one).

    Students on the roster without a graded upload get every exercise not submitted. Which
    upload counts is `policy.counted_index` on each upload's shown score (adjusted, then
    penalized), the number its student sees beside it. Late days
    are counted against each student's own due date (their extension, if any).
    """
    by_student: dict[str, list[dict[str, Any]]] = {}
    granted = extensions.granted(db, assignment.id, student)
    for row in db.submissions(student, assignment.id):
        if row["status"] == "done" and row["result"]:
            row = extensions.with_late_days(row, assignment, granted.get(row["student"]))
            factor = penalty_factor(int(row["late_days"]), assignment)
            by_student.setdefault(row["student"], []).append(
                {**row, "shown_score": shown_score(float(row["score"]), factor)})
    adjustments: dict[str, list[dict[str, Any]]] = {}
    for stored in db.adjustments(assignment.id, student):
        adjustments.setdefault(stored["student"], []).append(stored)
    students = sorted(set(db.students()) | set(by_student)) if student is None else [student]
    return [_grade(name, by_student.get(name, []), assignment, adjustments.get(name, ()))
            for name in students]


def counted_with_unmatched(db: Database, assignment: Assignment
                           ) -> tuple[list[dict[str, Any]], list[ServerUnmatched]]:
    """One counted result per student (results.json form, adjusted, penalties applied), roster
    order, and every stored adjustment that matched nothing, in the order they were added."""
    counted = grades(db, assignment)
    missed = sorted((u for g in counted for u in g.unmatched), key=lambda u: u.seq)
    return [g.to_json(assignment) for g in counted], missed


def counted_results(db: Database, assignment: Assignment) -> list[dict[str, Any]]:
    """counted_with_unmatched without the unmatched adjustments (the results endpoint)."""
    return counted_with_unmatched(db, assignment)[0]


def counted_submissions(db: Database, assignment: Assignment) -> list[SubmissionResult]:
    """Each student's counted grade as the exports take it: adjusted, late penalty applied."""
    return [g.counted.final for g in grades(db, assignment)]


def canvas_csv(db: Database, assignment: Assignment) -> str:
    """GET /api/v1/assignments/{id}/canvas.csv: the numbers of scores.csv, in Canvas's layout."""
    from nnlab.reports.canvas import canvas_text

    return canvas_text(counted_submissions(db, assignment), assignment.exercises)

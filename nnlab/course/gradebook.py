"""Views of stored submissions: what a student may see, and the instructor's counted grades."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from nnlab.course.config import Assignment
from nnlab.course.db import Account, Database
from nnlab.course.policy import counted_index, penalized, penalty_factor, student_view
from nnlab.results import Confinement, ExerciseResult, SubmissionResult, result_from_json


def stored_result(row: dict[str, Any]) -> SubmissionResult | None:
    return result_from_json(json.loads(row["result"])) if row.get("result") else None


def _meta(row: dict[str, Any], assignment: Assignment) -> dict[str, Any]:
    factor = penalty_factor(int(row["late_days"]), assignment)
    return {"submission_id": row["id"], "submitted_at": row["submitted_at"],
            "late_days": row["late_days"], "late_penalty": round(1.0 - factor, 6),
            "raw_score": row["score"]}


def instructor_result(row: dict[str, Any], assignment: Assignment) -> dict[str, Any] | None:
    """The whole result with the late penalty applied, plus what it was before."""
    result = stored_result(row)
    if result is None:
        return None
    factor = penalty_factor(int(row["late_days"]), assignment)
    return {**penalized(result, factor).to_json(), **_meta(row, assignment)}


def submission_json(row: dict[str, Any], viewer: Account, assignment: Assignment,
                    now: dt.datetime, db: Database) -> dict[str, Any]:
    """GET /api/v1/submissions/{id}: the row, and its result as this viewer may see it."""
    data: dict[str, Any] = {
        "id": row["id"], "student": row["student"], "assignment": row["assignment"],
        "status": row["status"], "submitted_at": row["submitted_at"], "late_days": row["late_days"],
        "files": json.loads(row["files"]), "result": None, "score": None, "max_score": None,
    }
    if row["status"] == "queued":
        data["queue_position"] = db.queue_position(row["seq"])
    if row["status"] == "error":
        data["error"] = row["error"] or "the grader failed"
    result = stored_result(row) if row["status"] == "done" else None
    if result is not None:
        if viewer.role == "instructor":
            view = instructor_result(row, assignment)
        else:
            view = student_view(result, assignment, now, int(row["late_days"]))
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


def counted_results(db: Database, assignment: Assignment) -> list[dict[str, Any]]:
    """One counted result per student (results.json form, penalties applied), roster order.

    Students on the roster without a graded upload appear with every exercise not submitted.
    """
    by_student: dict[str, list[dict[str, Any]]] = {}
    for row in db.submissions(None, assignment.id):
        if row["status"] == "done" and row["result"]:
            factor = penalty_factor(int(row["late_days"]), assignment)
            by_student.setdefault(row["student"], []).append(
                {**row, "shown_score": round(float(row["score"]) * factor, 6)})
    counted: list[dict[str, Any]] = []
    for student in sorted(set(db.students()) | set(by_student)):
        rows = by_student.get(student, [])
        index = counted_index(rows, assignment.counts)
        if index is None:
            counted.append({**not_submitted(student, assignment).to_json(), "submission_id": None,
                            "submitted_at": None, "late_days": 0, "late_penalty": 0.0,
                            "raw_score": 0.0})
        else:
            counted.append(instructor_result(rows[index], assignment) or {})
    return counted

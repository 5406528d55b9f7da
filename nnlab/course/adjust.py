"""Instructor adjustments on the course server: checking a request, and the rows applied on every read."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nnlab.course.config import Assignment
from nnlab.course.db import NewAdjustment
from nnlab.errors import RequestRejected
from nnlab.review.adjustments import AdjustmentRow, Unmatched

MAX_REASON_CHARS = 2000
"""A reason is a sentence or a paragraph, not a document; longer requests are refused."""
_FIELDS = ("student", "exercise", "check", "delta", "override", "reason")


@dataclass(frozen=True)
class ServerUnmatched:
    """A stored adjustment that matches nothing in the result it was applied to: shown, never dropped."""

    seq: int
    """The adjustment's number on the server."""
    student: str
    """The student it names (on the roster: anyone else is refused when it is added)."""
    exercise: str
    """The exercise it names."""
    check: str
    """The check's test id it names; empty for the exercise as a whole."""
    why: str
    """What did not match (the exercise or the check)."""

    def describe(self) -> str:
        """One line for the class report and `nnlab adjust`."""
        target = f"{self.student}, {self.exercise}" + (f", check {self.check}" if self.check else "")
        return f"adjustment #{self.seq} ({target}): {self.why}; not applied"


def _text(body: dict[str, Any], key: str, required: bool) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise RequestRejected(422, f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        raise RequestRejected(422, f"'{key}' must be a string, not {type(value).__name__}")
    return value.strip()


def _points(body: dict[str, Any]) -> tuple[str, float]:
    given = [k for k in ("delta", "override") if body.get(k) is not None]
    if len(given) != 1:
        raise RequestRejected(422, "give exactly one of 'delta' (points to add, negative to take "
                                      "away) or 'override' (the points to set)")
    kind = given[0]
    value = body[kind]
    # bool is an int to Python, but `"delta": true` is a mistake, not one point.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestRejected(422, f"'{kind}' must be a finite number of points, not {value!r}")
    if kind == "delta" and value == 0:
        raise RequestRejected(422, "a delta of 0 changes nothing")
    if kind == "override" and value < 0:
        raise RequestRejected(422, f"an override sets the points, so it cannot be negative ({value:g})")
    return kind, float(value)


def _exercise_points(exercise_id: str) -> float:
    from nnlab.grader.exercise import get_exercise

    return float(get_exercise(exercise_id).points)


def parse_request(body: Any, assignment: Assignment, students: set[str], author: str,
                  now: str) -> NewAdjustment:
    """The adjustment a POST asks for, or RequestRejected naming what is wrong.

    What can be known at once is refused at once: a student not on the roster, an exercise
    not in the assignment, an override over the exercise's points. A check id is only known
    once a submission is graded, so a wrong one is stored and reported where it is applied.
    """
    if not isinstance(body, dict):
        raise RequestRejected(422, "expected a JSON object: {\"student\", \"exercise\", \"check\" "
                                      "(optional), \"delta\" or \"override\", \"reason\"}")
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise RequestRejected(422, f"unknown field(s) {', '.join(unknown)} (expected {', '.join(_FIELDS)})")
    student = _text(body, "student", True)
    exercise = _text(body, "exercise", True)
    check = _text(body, "check", False)
    reason = _text(body, "reason", True)
    kind, points = _points(body)
    if len(reason) > MAX_REASON_CHARS:
        raise RequestRejected(422, f"the reason is {len(reason)} characters; at most {MAX_REASON_CHARS}")
    if student not in students:
        raise RequestRejected(422, f"unknown student '{student}': not on the roster")
    if exercise not in assignment.exercises:
        raise RequestRejected(422, f"unknown exercise '{exercise}': not in {assignment.id} "
                                      f"(exercises: {', '.join(assignment.exercises)})")
    if kind == "override" and not check and points > _exercise_points(exercise):
        raise RequestRejected(422, f"override {points:g} is over {exercise}'s "
                                      f"{_exercise_points(exercise):g} points")
    return NewAdjustment(assignment.id, student, exercise, check, kind, points, reason, author, now)


def to_row(stored: dict[str, Any]) -> AdjustmentRow:
    """A stored adjustment as the row `adjust_result` applies (its number in place of a file line)."""
    return AdjustmentRow(source="course server", line=int(stored["seq"]), student=stored["student"],
                         exercise=stored["exercise"], check=stored["check_id"], kind=stored["kind"],
                         points=float(stored["points"]), reason=stored["reason"],
                         author=stored["author"], date=stored["created_at"])


def to_json(stored: dict[str, Any]) -> dict[str, Any]:
    """GET /api/v1/assignments/{id}/adjustments: one stored adjustment."""
    return {"id": int(stored["seq"]), "assignment": stored["assignment"], "student": stored["student"],
            "exercise": stored["exercise"], "check": stored["check_id"] or None, "kind": stored["kind"],
            "points": float(stored["points"]), "reason": stored["reason"], "author": stored["author"],
            "date": stored["created_at"]}


def unmatched(missed: list[Unmatched]) -> list[ServerUnmatched]:
    """`adjust_result`'s unmatched rows, described by the server's numbers rather than file lines."""
    return [ServerUnmatched(u.row.line, u.row.student, u.row.exercise, u.row.check, u.why) for u in missed]

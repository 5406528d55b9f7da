"""Instructor adjustments on the course server: checking a request, and the rows applied on every read."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from nnlab.course.config import Assignment
from nnlab.course.db import NewAdjustment
from nnlab.errors import RequestRejected
from nnlab.results import Kind, UnknownAdjustmentKind
from nnlab.review.adjustments import POINTS_COLUMNS, AdjustmentRow, Unmatched, given_kinds

MAX_REASON_CHARS = 2000
"""A reason is a sentence or a paragraph, not a document; longer requests are refused."""
_FIELDS = ("student", "exercise", "check", *POINTS_COLUMNS, "reason")
SOURCE = "course server"
"""Where a stored adjustment applied as a row comes from; its line is the server's number."""


@dataclass(frozen=True)
class ServerUnmatched(Unmatched):
    """A stored adjustment that matches nothing in the result it was applied to: shown, never
    dropped, and named by the server's number (the row's line) rather than a file line."""

    @property
    def seq(self) -> int:
        """The adjustment's number on the server."""
        return self.row.line

    def describe(self) -> str:
        """One line for the class report and `nnlab adjust`."""
        row = self.row
        target = f"{row.student}, {row.exercise}" + (f", check {row.check}" if row.check else "")
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


def _points(body: dict[str, Any]) -> tuple[Kind, float]:
    given = given_kinds(body)
    if len(given) != 1:
        raise RequestRejected(422, "give exactly one of 'delta' (points to add, negative to take "
                                      "away) or 'override' (the points to set)")
    [kind] = given
    value = body[kind.value]
    # bool is an int to Python, but `"delta": true` is a mistake, not one point.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestRejected(422, f"'{kind}' must be a finite number of points, not {value!r}")
    if kind is Kind.DELTA and value == 0:
        raise RequestRejected(422, "a delta of 0 changes nothing")
    if kind is Kind.OVERRIDE and value < 0:
        raise RequestRejected(422, f"an override sets the points, so it cannot be negative ({value:g})")
    return kind, float(value)


def requested_kind(value: object) -> Kind:
    """A kind a request names as text (a form's choice of delta or override): an unknown one is
    refused (422) with the message every reader of adjustments gives."""
    try:
        return Kind.parse(value)
    except UnknownAdjustmentKind as unknown:
        raise RequestRejected(422, str(unknown)) from None


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
    if kind is Kind.OVERRIDE and not check and points > _exercise_points(exercise):
        raise RequestRejected(422, f"override {points:g} is over {exercise}'s "
                                      f"{_exercise_points(exercise):g} points")
    return NewAdjustment(assignment=assignment.id, student=student, exercise=exercise, check=check,
                         kind=kind, points=points, reason=reason, author=author, created_at=now)


def to_row(stored: dict[str, Any]) -> AdjustmentRow:
    """A stored adjustment (an SQLite row) as the row `adjust_result` applies: its number in
    place of a file line, its kind checked as every adjustment's is."""
    return AdjustmentRow(source=SOURCE, line=int(stored["seq"]), student=stored["student"],
                         exercise=stored["exercise"], check=stored["check_id"], kind=stored["kind"],
                         points=float(stored["points"]), reason=stored["reason"],
                         author=stored["author"], date=stored["created_at"])


def to_json(stored: dict[str, Any]) -> dict[str, Any]:
    """GET /api/v1/assignments/{id}/adjustments: one stored adjustment (the keys and their order
    are the API's)."""
    row = to_row(stored)
    return {"id": row.line, "assignment": stored["assignment"], "student": row.student,
            "exercise": row.exercise, "check": row.check or None, "kind": row.kind.value,
            "points": row.points, "reason": row.reason, "author": row.author, "date": row.date}


def unmatched(missed: list[Unmatched]) -> list[ServerUnmatched]:
    """`adjust_result`'s unmatched rows, described by the server's numbers rather than file lines."""
    return [ServerUnmatched(u.row, u.why) for u in missed]

"""CLASS_DIR/gradebook.json: what `nnlab collect` carries from the course server to `nnlab grade`."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.course.schemas import AssignmentInfo, CountedResult, ExtensionInfo, StoredAdjustment
from nnlab.errors import UsageError
from nnlab.results import AdjustmentDecision, Kind, UnknownAdjustmentKind
from nnlab.review.adjustments import AdjustmentRow

GRADEBOOK_FILE = "gradebook.json"
FORMAT = 1
"""The file's format. A reader refuses a newer one rather than grade without what it adds.

Late days are the server's count against the student's own due date, so a later `extensions`
list on each student (when the server grants them) is carried as a record beside them and
changes no arithmetic; only a change of arithmetic bumps the format."""
SOURCE = "course server adjustment"
"""Where an adjustment came from, in messages about one that matched nothing."""


@dataclass(frozen=True, kw_only=True)
class CollectedAdjustment(AdjustmentDecision):
    """One instructor adjustment stored on the server, as it applies: in the server's order; the
    decision (kind checked by `Kind.parse`, points, check, reason, author) and where it applies."""

    id: int
    """The server's number for it (its order of application)."""
    exercise: str
    date: str = ""
    """When the instructor added it (ISO 8601)."""

    def to_json(self) -> dict[str, Any]:
        """Its object in gradebook.json (the keys and their order are the file's)."""
        return {"id": self.id, "exercise": self.exercise, "check": self.check, "kind": self.kind.value,
                "points": self.points, "reason": self.reason, "author": self.author, "date": self.date}


@dataclass(frozen=True)
class CollectedExtension:
    """What the instructor granted the student on the server beyond the assignment's rules; a
    record only: the late days beside it are already counted against its due date."""

    due: str | None
    """The student's own due date (ISO 8601); None keeps the assignment's."""
    late_until: str | None
    extra_attempts: int
    reason: str
    author: str
    date: str


@dataclass(frozen=True)
class CollectedStudent:
    """One roster student and their counted upload (none: an empty folder, every exercise zero)."""

    student: str
    submission_id: str | None
    submitted_at: str | None
    late_days: int
    """Started days late by the server's clock (0 on time or with nothing handed in)."""
    adjustments: tuple[CollectedAdjustment, ...] = ()
    extension: CollectedExtension | None = None


@dataclass(frozen=True)
class Gradebook:
    """An assignment's facts beyond the code: the roster, late days, penalty and adjustments."""

    server: str
    assignment: str
    exercises: tuple[str, ...]
    """The assignment's exercises, in the server's column order."""
    late_penalty_per_day: float
    """Fraction of the score taken per started day late."""
    collected_at: str
    """When the server was read (ISO 8601, the server's answer or the collecting machine's clock)."""
    students: tuple[CollectedStudent, ...]

    def late_days(self) -> dict[str, int]:
        return {s.student: s.late_days for s in self.students}

    def adjustment_rows(self) -> list[AdjustmentRow]:
        """The server's adjustments as rows `apply_gradebook` applies, in the server's order."""
        rows = [(a, s.student) for s in self.students for a in s.adjustments]
        return [AdjustmentRow(source=SOURCE, line=a.id, student=student, exercise=a.exercise, date=a.date,
                              **a.decision())
                for a, student in sorted(rows, key=lambda pair: pair[0].id)]

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "server": self.server, "assignment": self.assignment,
                "exercises": list(self.exercises), "late_penalty_per_day": self.late_penalty_per_day,
                "collected_at": self.collected_at,
                "students": [{"student": s.student, "submission_id": s.submission_id,
                              "submitted_at": s.submitted_at, "late_days": s.late_days,
                              "adjustments": [a.to_json() for a in s.adjustments],
                              **({"extension": vars(s.extension)} if s.extension else {})}
                             for s in self.students]}


def gradebook_from_server(server: str, assignment: AssignmentInfo, counted: Sequence[CountedResult],
                          adjustments: Sequence[StoredAdjustment], collected_at: str,
                          extensions: Sequence[ExtensionInfo] = ()) -> Gradebook:
    """The record from the server's answers: the assignment (GET /api/v1/assignments), one
    counted result per roster student (.../results), every stored adjustment (.../adjustments)
    and every extension granted (.../extensions)."""
    granted = {e.student: CollectedExtension(e.due, e.late_until, e.extra_attempts, e.reason, e.author,
                                             e.created_at) for e in extensions}
    by_student: dict[str, list[CollectedAdjustment]] = {}
    for a in adjustments:
        by_student.setdefault(a.student, []).append(CollectedAdjustment(
            id=a.id, exercise=a.exercise, check=a.check or "", kind=a.kind, points=a.points,
            reason=a.reason, author=a.author, date=a.date))
    students = tuple(CollectedStudent(c.student or "", c.submission_id, c.submitted_at, c.late_days,
                                      tuple(by_student.get(c.student or "", ())), granted.get(c.student or ""))
                     for c in counted)
    return Gradebook(server, assignment.id, tuple(assignment.exercises), assignment.late_penalty_per_day,
                     collected_at, students)


def write_gradebook(book: Gradebook, class_dir: Path) -> Path:
    """Writes CLASS_DIR/gradebook.json (replaced in one rename, so a reader never sees half)."""
    path = class_dir / GRADEBOOK_FILE
    staging = path.with_name(f".{GRADEBOOK_FILE}.tmp")
    staging.write_text(json.dumps(book.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    staging.replace(path)
    return path


def _field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ValueError(f"{where}: '{key}' is missing or not the right type")
    return value


def _adjustment(data: Any, where: str) -> CollectedAdjustment:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: an adjustment is not an object")
    points = float(_field(data, "points", (int, float), where))
    if not math.isfinite(points):
        raise ValueError(f"{where}: adjustment {data.get('id')!r} is not a number of points")
    try:
        kind = Kind.parse(data.get("kind"))
    except UnknownAdjustmentKind as unknown:  # the one message every reader of adjustments gives
        raise ValueError(f"{where}: adjustment {data.get('id')!r}: {unknown}") from None
    return CollectedAdjustment(id=_field(data, "id", int, where), exercise=_field(data, "exercise", str, where),
                               check=_field(data, "check", str, where), kind=kind, points=points,
                               reason=_field(data, "reason", str, where), author=_field(data, "author", str, where),
                               date=_field(data, "date", str, where))


def _student(data: Any) -> CollectedStudent:
    if not isinstance(data, dict):
        raise ValueError("a student entry is not an object")
    name = _field(data, "student", str, "a student entry")
    late = _field(data, "late_days", int, name)
    if late < 0:
        raise ValueError(f"{name}: negative late days")
    extension = data.get("extension")
    return CollectedStudent(name, data.get("submission_id"), data.get("submitted_at"), late,
                            tuple(_adjustment(a, name) for a in _field(data, "adjustments", list, name)),
                            None if extension is None else _extension(extension, name))


def _extension(data: Any, where: str) -> CollectedExtension:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: the extension is not an object")
    return CollectedExtension(data.get("due"), data.get("late_until"),
                              _field(data, "extra_attempts", int, where), _field(data, "reason", str, where),
                              _field(data, "author", str, where), _field(data, "date", str, where))


def gradebook_from_json(data: Any) -> Gradebook:
    """The record from its JSON form; ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("format")
    if version != FORMAT:
        raise ValueError(f"format {version!r}: this nnlab reads format {FORMAT} "
                         "(collect again, or update nnlab)")
    per_day = float(_field(data, "late_penalty_per_day", (int, float), "the file"))
    if not 0 <= per_day <= 1:
        raise ValueError(f"late_penalty_per_day {per_day} is not a fraction")
    exercises = tuple(_field(data, "exercises", list, "the file"))
    if not exercises or not all(isinstance(e, str) for e in exercises):
        raise ValueError("'exercises' must list the assignment's exercise ids")
    return Gradebook(_field(data, "server", str, "the file"), _field(data, "assignment", str, "the file"),
                     exercises, per_day,
                     _field(data, "collected_at", str, "the file"),
                     tuple(_student(s) for s in _field(data, "students", list, "the file")))


def read_gradebook(class_dir: Path) -> Gradebook | None:
    """CLASS_DIR/gradebook.json, or None when the class was not collected from a server."""
    path = class_dir / GRADEBOOK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{path}: cannot be read ({error})") from None
    try:
        return gradebook_from_json(json.loads(text))
    except (ValueError, TypeError) as error:  # json's own errors are ValueErrors too
        raise UsageError(f"{path}: {error}; run `nnlab collect` again") from None

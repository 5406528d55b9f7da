"""Per-student extensions (another due date or late window, extra attempts), stored in the course database."""
from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import Any

from nnlab.course.config import Assignment
from nnlab.course.db import Database

_SCHEMA = """CREATE TABLE IF NOT EXISTS extensions (
    assignment TEXT NOT NULL, student TEXT NOT NULL, due TEXT, late_until TEXT,
    extra_attempts INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (assignment, student))"""


@dataclass(frozen=True)
class Extension:
    """What one student is granted on one assignment beyond its course.toml rules."""

    assignment: str
    student: str
    due: dt.datetime | None
    """The student's own due date; None keeps the assignment's."""
    late_until: dt.datetime | None
    """The student's own closing time; None keeps the assignment's (moved no earlier than `due`)."""
    extra_attempts: int
    """Uploads per hour added to the assignment's limit (nothing when it has none)."""
    reason: str
    author: str
    created_at: str

    def to_json(self) -> dict[str, Any]:
        return {"assignment": self.assignment, "student": self.student,
                "due": self.due.isoformat() if self.due else None,
                "late_until": self.late_until.isoformat() if self.late_until else None,
                "extra_attempts": self.extra_attempts, "reason": self.reason, "author": self.author,
                "created_at": self.created_at}


def _from_row(row: dict[str, Any]) -> Extension:
    def when(text: str | None) -> dt.datetime | None:
        return dt.datetime.fromisoformat(text) if text else None

    return Extension(row["assignment"], row["student"], when(row["due"]), when(row["late_until"]),
                     int(row["extra_attempts"]), row["reason"], row["author"], row["created_at"])


def grant(db: Database, extension: Extension) -> None:
    """Stores the student's extension on the assignment, replacing an earlier one."""
    with db.write() as conn:
        conn.execute(_SCHEMA)
        data = extension.to_json()
        conn.execute("INSERT OR REPLACE INTO extensions (assignment, student, due, late_until, extra_attempts, "
                     "reason, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (data["assignment"], data["student"], data["due"], data["late_until"],
                      data["extra_attempts"], data["reason"], data["author"], data["created_at"]))


def revoke(db: Database, assignment: str, student: str) -> None:
    with db.write() as conn:
        conn.execute(_SCHEMA)
        conn.execute("DELETE FROM extensions WHERE assignment = ? AND student = ?", (assignment, student))


def granted(db: Database, assignment: str, student: str | None = None) -> dict[str, Extension]:
    """The assignment's extensions by student (one student's when given); none before the first grant."""
    sql, params = "SELECT * FROM extensions WHERE assignment = ?", [assignment]
    if student is not None:
        sql, params = sql + " AND student = ?", [assignment, student]
    try:
        rows = db.query(sql, tuple(params))
    except sqlite3.OperationalError:  # no extension was ever granted: the table is made by the first
        return {}
    return {row["student"]: _from_row(row) for row in rows}


def effective(assignment: Assignment, extension: Extension | None) -> Assignment:
    """The assignment as it applies to the student the extension is for: due, late window, limit."""
    if extension is None:
        return assignment
    due = extension.due or assignment.due
    late_until = max(extension.late_until or assignment.late_until, due)
    attempts = assignment.attempts_per_hour + extension.extra_attempts if assignment.attempts_per_hour else 0
    return dataclasses.replace(assignment, due=due, late_until=late_until, attempts_per_hour=attempts)


def for_student(db: Database, assignment: Assignment, student: str) -> Assignment:
    """The assignment with the student's extension applied, if they have one."""
    return effective(assignment, granted(db, assignment.id, student).get(student))


def with_late_days(row: dict[str, Any], assignment: Assignment, extension: Extension | None) -> dict[str, Any]:
    """The submission row with its late days counted against the student's own due date.

    Without an extension the stored count stands (it was taken against the same date when the
    upload arrived); with one, the upload's time is counted again against the extended date,
    so an extension granted after an upload changes its penalty too."""
    if extension is None or extension.due is None:
        return row
    from nnlab.course.policy import late_days

    submitted = dt.datetime.fromisoformat(row["submitted_at"])
    return {**row, "late_days": late_days(submitted, effective(assignment, extension))}

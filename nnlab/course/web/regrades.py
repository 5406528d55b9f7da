"""Regrade requests: a student asks about a check or an exercise once, with a reason; the instructor answers."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from nnlab.course.db import Database, NewAdjustment, insert_adjustment
from nnlab.errors import RequestRejected

MAX_REASON_CHARS = 2000
_SCHEMA = """CREATE TABLE IF NOT EXISTS regrade_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, assignment TEXT NOT NULL, student TEXT NOT NULL,
    submission TEXT NOT NULL, exercise TEXT NOT NULL, check_id TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',
    answer TEXT NOT NULL DEFAULT '', answered_by TEXT NOT NULL DEFAULT '', answered_at TEXT,
    adjustment INTEGER, UNIQUE (assignment, student, exercise, check_id))"""


@dataclass(frozen=True)
class Regrade:
    """One request and its answer ('open', 'accepted' or 'declined')."""

    seq: int
    assignment: str
    student: str
    submission: str
    exercise: str
    check: str
    """A check's test id; '' for the exercise as a whole."""
    reason: str
    created_at: str
    status: str
    answer: str
    answered_by: str
    answered_at: str | None
    adjustment: int | None
    """The adjustment an accepted request added."""


def _regrade(row: dict[str, Any]) -> Regrade:
    return Regrade(int(row["seq"]), row["assignment"], row["student"], row["submission"], row["exercise"],
                   row["check_id"], row["reason"], row["created_at"], row["status"], row["answer"],
                   row["answered_by"], row["answered_at"],
                   None if row["adjustment"] is None else int(row["adjustment"]))


def ensure(db: Database) -> None:
    with db.write() as conn:
        conn.execute(_SCHEMA)


def checked_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise RequestRejected(422, "say why: the reason is required")
    if len(reason) > MAX_REASON_CHARS:
        raise RequestRejected(422, f"the reason is {len(reason)} characters; at most {MAX_REASON_CHARS}")
    return reason


def ask(db: Database, assignment: str, student: str, submission: str, exercise: str, check: str,
        reason: str, now: str) -> int:
    """Stores a request; 409 when this check (or exercise) was already asked about."""
    reason = checked_reason(reason)
    try:
        with db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO regrade_requests (assignment, student, submission, exercise, check_id, reason, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (assignment, student, submission, exercise, check, reason, now))
            return int(cursor.lastrowid or 0)
    except sqlite3.IntegrityError:
        raise RequestRejected(409, "you already asked for a regrade of this "
                                   + ("check" if check else "exercise")) from None


def answer(db: Database, seq: int, status: str, text: str, author: str, now: str,
           adjustment: NewAdjustment | None = None) -> int | None:
    """Answers an open request, storing the adjustment an acceptance adds in the same transaction;
    that adjustment's number. 409 when it was answered already: of two instructors answering at
    once, the second is refused and nothing of theirs is stored."""
    text = checked_reason(text)
    with db.write() as conn:
        done = conn.execute(
            "UPDATE regrade_requests SET status = ?, answer = ?, answered_by = ?, answered_at = ? "
            "WHERE seq = ? AND status = 'open'", (status, text, author, now, seq))
        if done.rowcount != 1:
            raise RequestRejected(409, "this request was answered already")
        if adjustment is None:
            return None
        added = insert_adjustment(conn, adjustment)
        conn.execute("UPDATE regrade_requests SET adjustment = ? WHERE seq = ?", (added, seq))
        return added


def listed(db: Database, assignment: str | None = None, student: str | None = None,
           status: str | None = None) -> list[Regrade]:
    sql, params = "SELECT * FROM regrade_requests WHERE 1 = 1", list[str]()
    for column, value in (("assignment", assignment), ("student", student), ("status", status)):
        if value is not None:
            sql, params = sql + f" AND {column} = ?", params + [value]
    return [_regrade(r) for r in db.query(sql + " ORDER BY seq", tuple(params))]


def one(db: Database, seq: int) -> Regrade | None:
    rows = db.query("SELECT * FROM regrade_requests WHERE seq = ?", (seq,))
    return _regrade(rows[0]) if rows else None

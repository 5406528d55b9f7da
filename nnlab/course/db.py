"""The course database: SQLite in DATA_DIR, WAL, every write one `BEGIN IMMEDIATE` transaction."""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.course.accounts import INSTRUCTOR, RosterEntry, hash_token
from nnlab.results import AdjustmentDecision

DB_NAME = "course.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    student TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    student TEXT NOT NULL,
    assignment TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    ts REAL NOT NULL,
    late_days INTEGER NOT NULL,
    files TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    runs INTEGER NOT NULL DEFAULT 0,
    graded INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT NOT NULL DEFAULT '',
    score REAL,
    max_score REAL,
    graded_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_window ON submissions (student, assignment, ts);
CREATE INDEX IF NOT EXISTS submissions_queue ON submissions (status, seq);
CREATE TABLE IF NOT EXISTS adjustments (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    exercise TEXT NOT NULL,
    check_id TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    points REAL NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS adjustments_by_student ON adjustments (assignment, student, seq);
"""
"""Every statement is IF NOT EXISTS and runs at each start: a database made by an older nnlab
gains the tables it lacks (adjustments) and keeps every row it has."""

# The queue is round-robin by student: an upload's turn is how many uploads the same student made
# in the hour before it (graded, running or waiting), and the lowest turn goes first, arrival
# breaking ties. In a deadline rush a student's tenth upload never waits ahead of another
# student's first, and a student's own uploads keep their order.
_FAIR_ORDER = """
SELECT queued.seq AS seq,
       (SELECT COUNT(*) FROM submissions AS earlier
         WHERE earlier.student = queued.student AND earlier.seq < queued.seq
           AND earlier.ts > queued.ts - 3600) AS turn
FROM submissions AS queued WHERE queued.status = 'queued'
ORDER BY turn, queued.seq"""


@dataclass(frozen=True)
class Account:
    """A roster account as the server sees it (never its token)."""

    student: str
    role: str
    """'student' or 'instructor'."""


class RateLimited(Exception):
    """An upload over attempts_per_hour; nothing was stored."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after
        """Seconds until the oldest upload in the window leaves it."""


@dataclass(frozen=True)
class NewSubmission:
    """An upload that passed every check and is about to be queued."""

    id: str
    student: str
    assignment: str
    submitted_at: dt.datetime
    late_days: int
    files: str
    """JSON list of the stored file names."""
    seed: int


@dataclass(frozen=True, kw_only=True)
class NewAdjustment(AdjustmentDecision):
    """An instructor adjustment that passed its checks, about to be stored (rows are never changed):
    the decision (kind, a plain 'delta' or 'override' accepted; points, check, reason, and the
    account that added it as author), and whose grade in which assignment."""

    assignment: str
    """The assignment id."""
    student: str
    """A student on the roster."""
    exercise: str
    """An exercise of the assignment."""
    created_at: str
    """The server's clock when it was added, ISO 8601."""


class Database:
    """One SQLite file; a fresh connection per operation, so threads never share one."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / DB_NAME
        # Students' files and the account hashes live here: nobody else on the machine reads them.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._connection() as conn:
            # WAL lets readers go on while one writer commits; it is a property of the file.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.row_factory = sqlite3.Row
        # Writers queue behind each other for up to a minute rather than failing "database is locked".
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("PRAGMA synchronous=FULL")
        try:
            yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the write lock first, so read-then-write is exact."""
        with self._connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._connection() as conn:
            return [dict(row) for row in conn.execute(sql, params)]

    # ------------------------------------------------------------------ accounts

    def add_accounts(self, entries: list[RosterEntry],
                     make_token: Callable[[], str]) -> list[tuple[str, str, str]]:
        """Adds the entries not yet known (and the instructor once); (student, role, token) of each new one."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        created: list[tuple[str, str, str]] = []
        with self.write() as conn:
            known = {row[0] for row in conn.execute("SELECT student FROM accounts")}
            wanted = [(e.student, "student", e.name, e.email) for e in entries]
            if INSTRUCTOR not in known:
                wanted.insert(0, (INSTRUCTOR, INSTRUCTOR, "", ""))
            for student, role, name, email in wanted:
                if student in known:
                    continue
                token = make_token()
                conn.execute("INSERT INTO accounts (student, role, name, email, token_hash, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)", (student, role, name, email,
                                                            hash_token(token), now))
                created.append((student, role, token))
        return created

    def set_token(self, student: str, token: str | None) -> bool:
        """Replaces an account's token (None revokes it); False when there is no such account."""
        with self.write() as conn:
            if token is None:
                cursor = conn.execute("UPDATE accounts SET revoked = 1 WHERE student = ?", (student,))
            else:
                cursor = conn.execute("UPDATE accounts SET token_hash = ?, revoked = 0 WHERE student = ?",
                                      (hash_token(token), student))
            return cursor.rowcount == 1

    def account(self, token: str) -> Account | None:
        rows = self.query("SELECT student, role FROM accounts WHERE token_hash = ? AND revoked = 0",
                          (hash_token(token),))
        return Account(rows[0]["student"], rows[0]["role"]) if rows else None

    def students(self) -> list[str]:
        return [r["student"] for r in self.query(
            "SELECT student FROM accounts WHERE role = 'student' ORDER BY student")]

    # ------------------------------------------------------------------ submissions

    def accept(self, new: NewSubmission, per_hour: int) -> int:
        """Queues an upload unless it is over the hourly limit; the uploads in the window after it.

        Counting and inserting happen under one write lock, so concurrent uploads cannot both
        take the last attempt.
        """
        ts = new.submitted_at.timestamp()
        with self.write() as conn:
            window = [r[0] for r in conn.execute(
                "SELECT ts FROM submissions WHERE student = ? AND assignment = ? AND ts > ? ORDER BY ts",
                (new.student, new.assignment, ts - 3600))]
            if per_hour and len(window) >= per_hour:
                # Clamped: a concurrent upload stamped a moment later may commit first.
                wait = int(window[len(window) - per_hour] + 3600 - ts + 0.999)
                raise RateLimited(min(3600, max(1, wait)))
            conn.execute(
                "INSERT INTO submissions (id, student, assignment, submitted_at, ts, late_days, files, "
                "seed, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                (new.id, new.student, new.assignment, new.submitted_at.isoformat(timespec="seconds"),
                 ts, new.late_days, new.files, new.seed))
            return len(window) + 1

    def attempts_in_window(self, student: str, assignment: str, now_ts: float) -> int:
        rows = self.query("SELECT COUNT(*) AS n FROM submissions WHERE student = ? AND assignment = ? "
                          "AND ts > ?", (student, assignment, now_ts - 3600))
        return int(rows[0]["n"])

    def submission(self, submission_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        return rows[0] if rows else None

    def submissions(self, student: str | None, assignment: str | None) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM submissions WHERE 1 = 1", list[str]()
        if student is not None:
            sql, params = sql + " AND student = ?", params + [student]
        if assignment is not None:
            sql, params = sql + " AND assignment = ?", params + [assignment]
        return self.query(sql + " ORDER BY seq", tuple(params))

    def queue_position(self, seq: int) -> int:
        """How many uploads would be taken before this one, in the fair order of `claim_next`."""
        order = [row["seq"] for row in self.query(_FAIR_ORDER)]
        return order.index(seq) if seq in order else 0

    def queue_estimate(self, position: int, now: dt.datetime | None = None) -> float | None:
        """Seconds until an upload `position` places back is graded, at the last ten minutes' pace.

        None when fewer than two uploads were graded in those ten minutes: no honest guess then.
        """
        # graded_at is written in UTC, and ISO strings in one zone compare as times do.
        now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        since = (now - dt.timedelta(minutes=10)).isoformat(timespec="seconds")
        done = sorted(dt.datetime.fromisoformat(r["graded_at"]) for r in self.query(
            "SELECT graded_at FROM submissions WHERE graded_at IS NOT NULL AND graded_at >= ?", (since,)))
        if len(done) < 2:
            return None
        span = max((now - done[0]).total_seconds(), 1.0)
        return (position + 1) * span / len(done)

    # ------------------------------------------------------------------ the grading queue

    def requeue_running(self) -> int:
        """At start-up: rows a killed server left 'running' were never recorded; grade them again."""
        with self.write() as conn:
            return conn.execute("UPDATE submissions SET status = 'queued' WHERE status = 'running'").rowcount

    def claim_next(self) -> dict[str, Any] | None:
        """Takes the next upload in the fair order; no two grading threads ever take the same one."""
        with self.write() as conn:
            first = conn.execute(_FAIR_ORDER + " LIMIT 1").fetchone()
            if first is None:
                return None
            row = conn.execute("SELECT * FROM submissions WHERE seq = ?", (first["seq"],)).fetchone()
            conn.execute("UPDATE submissions SET status = 'running', runs = runs + 1 WHERE seq = ?",
                         (row["seq"],))
            return dict(row)

    def finish(self, seq: int, status: str, result: str | None, score: float | None,
               max_score: float | None, error: str = "") -> bool:
        """Records a grade once: only a row still 'running' takes it."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.write() as conn:
            return conn.execute(
                "UPDATE submissions SET status = ?, result = ?, score = ?, max_score = ?, error = ?, "
                "graded_at = ?, graded = graded + 1 WHERE seq = ? AND status = 'running'",
                (status, result, score, max_score, error, now, seq)).rowcount == 1

    # ------------------------------------------------------------------ adjustments

    def add_adjustment(self, new: NewAdjustment) -> int:
        """Stores an adjustment; its sequence number, which is also the order they apply in."""
        with self.write() as conn:
            return insert_adjustment(conn, new)

    def adjustments(self, assignment: str, student: str | None = None) -> list[dict[str, Any]]:
        """An assignment's adjustments (one student's when given), oldest first."""
        if student is None:
            return self.query("SELECT * FROM adjustments WHERE assignment = ? ORDER BY seq", (assignment,))
        return self.query("SELECT * FROM adjustments WHERE assignment = ? AND student = ? ORDER BY seq",
                          (assignment, student))


def insert_adjustment(conn: sqlite3.Connection, new: NewAdjustment) -> int:
    """Stores an adjustment inside the caller's write transaction (a regrade's answer and the
    adjustment it adds commit together or not at all); its sequence number."""
    cursor = conn.execute(
        "INSERT INTO adjustments (assignment, student, exercise, check_id, kind, points, reason, "
        "author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new.assignment, new.student, new.exercise, new.check, new.kind.value, new.points,
         new.reason, new.author, new.created_at))
    return int(cursor.lastrowid or 0)

"""Grade passback: every counted score that changes goes into a persistent outbox, sent with retries."""
from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from nnlab.course import gradebook
from nnlab.course.config import Assignment, Course
from nnlab.course.db import Database
from nnlab.course.lti import calls, store
from nnlab.course.lti.registration import Platform, find_platform
from nnlab.course.lti.services import LineItem, Services
from nnlab.errors import UsageError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lti_scores (
    issuer TEXT NOT NULL, context_id TEXT NOT NULL, sub TEXT NOT NULL, assignment TEXT NOT NULL,
    score REAL NOT NULL, max_score REAL NOT NULL, PRIMARY KEY (issuer, context_id, sub, assignment));
CREATE TABLE IF NOT EXISTS lti_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, issuer TEXT NOT NULL, context_id TEXT NOT NULL,
    assignment TEXT NOT NULL, sub TEXT NOT NULL, student TEXT NOT NULL, score REAL NOT NULL,
    max_score REAL NOT NULL, stamp TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '', sent_at TEXT, progress TEXT NOT NULL DEFAULT 'FullyGraded');
CREATE INDEX IF NOT EXISTS lti_outbox_due ON lti_outbox (status, next_at);
CREATE TABLE IF NOT EXISTS lti_progress (
    issuer TEXT NOT NULL, context_id TEXT NOT NULL, sub TEXT NOT NULL, assignment TEXT NOT NULL,
    submission TEXT NOT NULL, progress TEXT NOT NULL, PRIMARY KEY (issuer, context_id, sub, assignment));
"""
"""lti_scores: the last score queued for each (LMS user, assignment), which a change is measured
against. lti_outbox: the scores to send; a row is 'pending' until the platform takes it, then
'sent', or 'superseded' when a newer score for the same user and assignment was queued first,
or 'refused' when the platform answered 409 (it holds a newer score: sent again, it would be
refused again; `last_error` says why);
its `progress` is the AGS gradingProgress (FullyGraded rows carry a score, the others none).
lti_progress: the upload last announced as Pending or Failed, so each is announced once."""

FULLY_GRADED = "FullyGraded"
PENDING = "Pending"
FAILED = "Failed"
_PROGRESS = {"queued": PENDING, "running": PENDING, "error": FAILED}
"""An upload's status -> the gradingProgress announced for it before it has a counted score."""

RETRY_CAP_ENV = "NNLAB_LTI_RETRY_CAP_S"
"""Test hook: the longest wait between two tries (default 300 s)."""
POLL_S = 1.0
FULL_SWEEP_S = 60.0
"""Even with nothing seen to change, every score is compared this often (rules that read the clock)."""
_log = logging.getLogger("nnlab.lti")


def install(db: Database) -> None:
    import contextlib

    with contextlib.closing(sqlite3.connect(db.path, timeout=60)) as conn:
        conn.executescript(_SCHEMA)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(lti_outbox)")}
        if "progress" not in columns:  # an outbox made before gradingProgress was kept: all its rows were scores
            conn.execute(f"ALTER TABLE lti_outbox ADD COLUMN progress TEXT NOT NULL DEFAULT '{FULLY_GRADED}'")
            conn.commit()


def backoff(failed: int) -> float:
    """Seconds before the next try after `failed` failed ones: 2, 4, 8, ... up to the cap."""
    from nnlab.settings import read_settings

    cap = read_settings("lti_retry_cap_s").lti_retry_cap_s
    return min(cap, 2.0 ** min(failed, 20))


@dataclass(frozen=True)
class Pending:
    """One score waiting in the outbox."""

    seq: int
    issuer: str
    context_id: str
    assignment: str
    sub: str
    score: float
    max_score: float
    stamp: str
    attempts: int
    progress: str = FULLY_GRADED

    def to_json(self) -> dict[str, object]:
        """The AGS score: the counted grade, final, fully graded; or, before there is one, that an
        upload is being graded (Pending) or could not be (Failed), with no score: a score with
        any other gradingProgress is ignored or blanked by platforms anyway."""
        if self.progress != FULLY_GRADED:
            return {"userId": self.sub, "activityProgress": "Submitted", "gradingProgress": self.progress,
                    "timestamp": self.stamp}
        return {"userId": self.sub, "scoreGiven": self.score, "scoreMaximum": self.max_score,
                "activityProgress": "Completed", "gradingProgress": FULLY_GRADED,
                "timestamp": self.stamp}


@dataclass(frozen=True)
class Target:
    """Where one student's score goes: an LMS user in an LMS course with a gradebook."""

    issuer: str
    context_id: str
    sub: str
    student: str


def targets(db: Database) -> dict[str, list[Target]]:
    """Each linked student's LMS users in the contexts whose launches gave a line items URL."""
    by_issuer: dict[str, list[store.Context]] = {}
    for context in store.contexts(db):
        if context.lineitems_url:
            by_issuer.setdefault(context.issuer, []).append(context)
    found: dict[str, list[Target]] = {}
    for user in store.linked_users(db):
        for context in by_issuer.get(user["issuer"], []):
            found.setdefault(user["student"], []).append(
                Target(user["issuer"], context.context_id, user["sub"], user["student"]))
    return found


def queue_scores(db: Database, assignment: Assignment, force: bool = False) -> int:
    """Queues each counted score of `assignment` that differs from the last one queued (every one
    with `force`); how many were queued. Students with no graded upload have no score to send."""
    to = targets(db)
    if not to:
        return 0
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    queued = 0
    for grade in gradebook.grades(db, assignment):
        if grade.row is None or grade.result.student not in to:
            continue
        final = grade.counted.final
        score, maximum = round(final.score, 6), round(final.max_score, 6)
        for target in to[grade.result.student or ""]:
            queued += _queue_one(db, target, assignment.id, score, maximum, stamp, force)
    return queued


_KEY = "issuer = ? AND context_id = ? AND sub = ? AND assignment = ?"


def later_stamp(conn: sqlite3.Connection, key: tuple[str, str, str, str], stamp: str) -> str:
    """`stamp`, or one second after the key's latest queued stamp when `stamp` is not later in
    whole seconds: a platform refuses a score not newer than the last one it took, and Moodle
    compares whole seconds (a Pending and its score can be queued within one)."""
    row = conn.execute(f"SELECT MAX(stamp) FROM lti_outbox WHERE {_KEY}", key).fetchone()
    try:
        last = dt.datetime.fromisoformat(row[0]).replace(microsecond=0) if row and row[0] else None
        new = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if last is None or new.replace(microsecond=0) > last:
        return stamp
    return (last + dt.timedelta(seconds=1)).isoformat(timespec="milliseconds")


def _queue_one(db: Database, target: Target, assignment: str, score: float, maximum: float,
               stamp: str, force: bool) -> int:
    key = (target.issuer, target.context_id, target.sub, assignment)
    with db.write() as conn:
        last = conn.execute(f"SELECT score, max_score FROM lti_scores WHERE {_KEY}", key).fetchone()
        if not force and last is not None and (last["score"], last["max_score"]) == (score, maximum):
            return 0
        stamp = later_stamp(conn, key, stamp)
        # Only the newest score of a user on an assignment is worth sending (a Pending too).
        conn.execute(f"UPDATE lti_outbox SET status = 'superseded' WHERE status = 'pending' AND {_KEY}", key)
        conn.execute("INSERT INTO lti_outbox (issuer, context_id, assignment, sub, student, score, "
                     "max_score, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (*key[:2], assignment, target.sub, target.student, score, maximum, stamp))
        conn.execute("INSERT OR REPLACE INTO lti_scores VALUES (?, ?, ?, ?, ?, ?)", (*key, score, maximum))
    return 1


def queue_progress(db: Database, assignment: Assignment) -> int:
    """Queues a Pending for each linked student whose newest upload of `assignment` is queued or
    being graded (Failed when its grading failed), once per upload; how many were queued.

    Only for a student the LMS has no score of ours for yet: a Pending carries no score, and
    the AGS rules (Moodle's code too) read a score without one as no score, which would blank
    the counted grade in the LMS while a resubmission is graded.
    """
    to = targets(db)
    if not to:
        return 0
    newest: dict[str, dict[str, object]] = {}
    for row in db.submissions(None, assignment.id):  # in upload order: the last one stays
        newest[row["student"]] = row
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    queued = 0
    for student, row in newest.items():
        progress = _PROGRESS.get(str(row["status"]))
        if progress is None or student not in to:
            continue
        maximum = gradebook.not_submitted(student, assignment).max_score
        for target in to[student]:
            queued += _queue_progress(db, target, assignment.id, str(row["id"]), progress, maximum, stamp)
    return queued


def _queue_progress(db: Database, target: Target, assignment: str, submission: str, progress: str,
                    maximum: float, stamp: str) -> int:
    key = (target.issuer, target.context_id, target.sub, assignment)
    with db.write() as conn:
        if conn.execute(f"SELECT 1 FROM lti_scores WHERE {_KEY}", key).fetchone() is not None:
            return 0
        last = conn.execute(f"SELECT submission, progress FROM lti_progress WHERE {_KEY}", key).fetchone()
        if last is not None and (last["submission"], last["progress"]) == (submission, progress):
            return 0
        stamp = later_stamp(conn, key, stamp)
        conn.execute(f"UPDATE lti_outbox SET status = 'superseded' WHERE status = 'pending' AND {_KEY} "
                     f"AND progress != '{FULLY_GRADED}'", key)
        # max_score is the assignment's: the line item is made with it if this row goes first.
        conn.execute("INSERT INTO lti_outbox (issuer, context_id, assignment, sub, student, score, "
                     "max_score, stamp, progress) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                     (*key[:2], assignment, target.sub, target.student, maximum, stamp, progress))
        conn.execute("INSERT OR REPLACE INTO lti_progress VALUES (?, ?, ?, ?, ?, ?)", (*key, submission, progress))
    return 1


def due(db: Database, now: float) -> list[Pending]:
    rows = db.query("SELECT * FROM lti_outbox WHERE status = 'pending' AND next_at <= ? ORDER BY seq",
                    (now,))
    return [Pending(r["seq"], r["issuer"], r["context_id"], r["assignment"], r["sub"], r["score"],
                    r["max_score"], r["stamp"], r["attempts"], r["progress"]) for r in rows]


def _change_marker(db: Database) -> tuple[object, ...]:
    """Changes whenever an upload, a grade, an adjustment or a linked user or course may have changed."""
    [row] = db.query(
        "SELECT (SELECT COUNT(*) FROM submissions) AS uploads, "
        "(SELECT COUNT(*) FROM submissions WHERE status IN ('queued', 'running')) AS grading, "
        "(SELECT COALESCE(SUM(graded), 0) FROM submissions) AS graded, "
        "(SELECT COALESCE(MAX(seq), 0) FROM adjustments) AS adjusted, "
        "(SELECT COUNT(*) FROM lti_users) AS users, "
        "(SELECT COUNT(*) FROM lti_contexts WHERE lineitems_url != '') AS contexts")
    return tuple(row.values())


class Outbox:
    """The server's passback thread: notices changed scores, queues them, and sends what is due."""

    def __init__(self, db: Database, course: Course, platforms: tuple[Platform, ...],
                 services: Callable[[Platform], Services]) -> None:
        self.db = db
        self.course = course
        self.platforms = platforms
        self.services = services
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._marker: tuple[object, ...] | None = None
        self._swept = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nnlab-lti-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
                self.deliver()
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                _log.exception("LTI grade passback round failed")
            self._stop.wait(POLL_S)

    def sweep(self) -> int:
        """Queues the scores that changed since the last sweep (all of them at start-up)."""
        marker = _change_marker(self.db)
        if marker == self._marker and time.monotonic() - self._swept < FULL_SWEEP_S:
            return 0
        # Scores first: a student whose upload was just graded gets no Pending after it.
        queued = sum(queue_scores(self.db, a) + queue_progress(self.db, a) for a in self.course.assignments)
        self._marker, self._swept = marker, time.monotonic()
        return queued

    def deliver(self) -> int:
        """Sends every due score; a failure waits its backoff and is tried again. How many were sent."""
        sent = 0
        for pending in due(self.db, time.time()):
            if self._stop.is_set():
                break
            try:
                self._send(pending)
            except calls.PlatformError as error:
                if error.status == 409:
                    self._refused(pending, str(error))
                else:
                    self._failed(pending, str(error))
                continue
            except Exception as error:  # noqa: BLE001 - logged; a bug of ours: this row waits, the others go on
                _log.exception("LTI score %s could not be sent", pending.seq)
                self._failed(pending, f"{type(error).__name__}: {error}")
                continue
            with self.db.write() as conn:
                conn.execute("UPDATE lti_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1 "
                             "WHERE seq = ? AND status = 'pending'", (store.now_text(), pending.seq))
            sent += 1
        return sent

    def _send(self, pending: Pending) -> None:
        platform = find_platform(self.platforms, pending.issuer, None)
        if platform is None:
            raise calls.PlatformError(f"no [lti] registration for issuer {pending.issuer!r}")
        services = self.services(platform)
        url = store.lineitem(self.db, pending.issuer, pending.context_id, pending.assignment)
        try:
            if url is None:
                url = self._lineitem(services, pending)
            services.post_score(url, pending.to_json())
        except calls.PlatformError as error:
            if error.status == 401:
                services.forget_tokens()
            raise

    def _lineitem(self, services: Services, pending: Pending) -> str:
        context = next((c for c in store.contexts(self.db)
                        if (c.issuer, c.context_id) == (pending.issuer, pending.context_id)), None)
        if context is None or not context.lineitems_url:
            raise calls.PlatformError("no line items URL known for this LMS course yet")
        try:
            assignment = self.course.assignment(pending.assignment)
        except UsageError:  # taken out of course.toml since: this row waits, the others go on
            raise calls.PlatformError(f"assignment {pending.assignment!r} is no longer in course.toml") from None
        url = services.find_or_make_lineitem(context.lineitems_url, LineItem(
            assignment.id, assignment.title, pending.max_score))
        store.save_lineitem(self.db, pending.issuer, pending.context_id, pending.assignment, url)
        return url

    def _refused(self, pending: Pending, error: str) -> None:
        # 409: the LMS holds a score stamped later than this one (an instructor's edit in the
        # LMS, or a score of another tool run): the same stamp would be refused for ever, and a
        # later one would overwrite what the LMS chose to keep. The next change of the counted
        # score is queued with its own, later stamp.
        _log.warning("LTI score for %s on %s refused by the LMS (kept as refused, not retried): %s",
                     pending.sub, pending.assignment, error)
        with self.db.write() as conn:
            conn.execute("UPDATE lti_outbox SET status = 'refused', attempts = attempts + 1, last_error = ? "
                         "WHERE seq = ? AND status = 'pending'", (error[:500], pending.seq))

    def _failed(self, pending: Pending, error: str) -> None:
        _log.warning("LTI score for %s on %s not sent (try %d): %s", pending.sub, pending.assignment,
                     pending.attempts + 1, error)
        with self.db.write() as conn:
            conn.execute("UPDATE lti_outbox SET attempts = attempts + 1, next_at = ?, last_error = ? "
                         "WHERE seq = ?", (time.time() + backoff(pending.attempts + 1), error[:500],
                                           pending.seq))

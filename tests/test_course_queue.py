"""The course server's grading queue is fair: round-robin by student, every upload taken once."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from nnlab.course.db import Database, NewSubmission

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def _upload(db: Database, student: str, n: int) -> str:
    ident = f"{student}-{n}"
    db.accept(NewSubmission(id=ident, student=student, assignment="hw1",
                            submitted_at=T0 + dt.timedelta(seconds=len(db.query("SELECT seq FROM submissions"))),
                            late_days=0, files="[]", seed=1), per_hour=0)
    return ident


def _drain(db: Database) -> list[str]:
    taken = []
    while (row := db.claim_next()) is not None:
        taken.append(row["id"])
        db.finish(row["seq"], "done", "{}", 1.0, 1.0)
    return taken


def test_a_students_tenth_upload_does_not_wait_ahead_of_anothers_first(tmp_path: Path) -> None:
    """Ten uploads from ada, then one each from ben and chloe: do ben and chloe go second and third?"""
    db = Database(tmp_path)
    for n in range(10):
        _upload(db, "ada", n)
    _upload(db, "ben", 0)
    _upload(db, "chloe", 0)
    taken = _drain(db)
    assert taken[:3] == ["ada-0", "ben-0", "chloe-0"]
    assert taken[3:] == [f"ada-{n}" for n in range(1, 10)]  # a student's own uploads keep their order


def test_a_student_being_graded_waits_behind_one_who_is_not(tmp_path: Path) -> None:
    """While ada's first upload is being graded, does ben's upload go before ada's second?"""
    db = Database(tmp_path)
    _upload(db, "ada", 0)
    running = db.claim_next()
    assert running is not None and running["id"] == "ada-0"
    _upload(db, "ada", 1)
    _upload(db, "ben", 0)
    assert db.queue_position(db.submission("ben-0")["seq"]) == 0
    assert db.queue_position(db.submission("ada-1")["seq"]) == 1
    nxt = db.claim_next()
    assert nxt is not None and nxt["id"] == "ben-0"


def test_every_upload_is_taken_exactly_once(tmp_path: Path) -> None:
    """Interleaved uploads of five students: is each taken once, none lost?"""
    db = Database(tmp_path)
    ids = [_upload(db, f"s{k % 5}", k) for k in range(23)]
    taken = _drain(db)
    assert sorted(taken) == sorted(ids)
    assert db.claim_next() is None


def test_the_estimate_follows_the_recent_pace(tmp_path: Path) -> None:
    """Four uploads graded in the last 100 s: is the third in line told about 100 s, none when idle?"""
    db = Database(tmp_path)
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert db.queue_estimate(0, now) is None  # nothing graded yet: no guess
    for n in range(4):
        _upload(db, f"s{n}", 0)
        row = db.claim_next()
        db.finish(row["seq"], "done", "{}", 1.0, 1.0)
        graded = (now - dt.timedelta(seconds=100 - 25 * n)).isoformat(timespec="seconds")
        with db.write() as conn:
            conn.execute("UPDATE submissions SET graded_at = ? WHERE seq = ?", (graded, row["seq"]))
    assert db.queue_estimate(2, now) == 75.0  # 4 graded over 100 s: 25 s each, three to go
    assert db.queue_estimate(2, now + dt.timedelta(hours=1)) is None  # an idle hour says nothing

"""gradebook.submission_view: an upload as its viewer may see it, and its API JSON (keys, order, what is left out)."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from nnlab.course import gradebook
from nnlab.course.accounts import RosterEntry, new_token
from nnlab.course.config import Assignment
from nnlab.course.db import Account, Database
from nnlab.reports.synthetic import synthetic_class

UTC = dt.timezone.utc
NOW = dt.datetime(2030, 1, 3, tzinfo=UTC)
ASSIGNMENT = Assignment("hw", "hw", ("my_linear", "leaky_relu"), dt.datetime(2030, 1, 1, tzinfo=UTC),
                        dt.datetime(2030, 1, 9, tzinfo=UTC), 0.25, 0, "last", "after_due")
FIRST = ["id", "student", "assignment", "status", "submitted_at", "late_days", "files", "result", "score",
         "max_score"]


def _rows(tmp_path: Path) -> tuple[Database, dict[str, dict[str, object]]]:
    [result] = synthetic_class(1, ASSIGNMENT.exercises, seed=1)
    db = Database(tmp_path / "data")
    db.add_accounts([RosterEntry(result.student or "")], new_token)
    with sqlite3.connect(db.path) as conn:
        for sub, status, text, error in (("done", "done", json.dumps(result.to_json()), ""),
                                         ("queued", "queued", None, ""), ("failed", "error", None, ""),
                                         ("said", "error", None, "the worker ran out of memory")):
            conn.execute("INSERT INTO submissions (id, student, assignment, submitted_at, ts, late_days, files, "
                         "seed, status, result, error, score) VALUES (?, ?, 'hw', '2030-01-02T00:00:00+00:00', 1, "
                         "1, '[\"my_linear.py\"]', 1, ?, ?, ?, ?)",
                         (sub, result.student, status, text, error, result.score if text else None))
    conn.close()
    return db, {r["id"]: r for r in db.submissions(None, "hw")}


def test_each_status_has_the_apis_keys_in_order(tmp_path: Path) -> None:
    db, rows = _rows(tmp_path)
    student = Account(str(rows["done"]["student"]), "student")
    done = gradebook.submission_view(rows["done"], student, ASSIGNMENT, NOW, db)
    assert done.result is not None and done.score == done.result["score"] and done.files == ("my_linear.py",)
    assert list(done.to_json()) == FIRST and done.to_json()["score"] == round(done.result["raw_score"] * 0.75, 6)
    queued = gradebook.submission_view(rows["queued"], student, ASSIGNMENT, NOW, db).to_json()
    assert list(queued) == FIRST + ["queue_position"] and queued["queue_position"] == 0
    assert queued["result"] is queued["score"] is queued["max_score"] is None
    assert gradebook.submission_json(rows["failed"], student, ASSIGNMENT, NOW, db) == {
        **{k: v for k, v in queued.items() if k != "queue_position"}, "id": "failed", "status": "error",
        "error": "the grader failed"}
    assert gradebook.submission_view(rows["said"], student, ASSIGNMENT, NOW, db).error == "the worker ran out of memory"


def test_the_instructor_sees_the_whole_result(tmp_path: Path) -> None:
    db, rows = _rows(tmp_path)
    seen = gradebook.submission_view(rows["done"], Account("instructor", "instructor"), ASSIGNMENT, NOW, db)
    assert seen.result is not None and seen.result["submission_id"] == "done" and seen.result["late_penalty"] == 0.25
    assert seen.max_score == seen.result["max_score"] and seen.to_json()["result"] == seen.result

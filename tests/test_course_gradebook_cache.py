"""The gradebook's caches (parsed results, class reports, results.json) answer exactly as reading afresh does."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest

from nnlab.course import extensions, gradebook
from nnlab.course.accounts import RosterEntry, new_token
from nnlab.course.config import Assignment
from nnlab.course.db import Database
from nnlab.reports import write_scores_csv
from nnlab.reports.synthetic import synthetic_class
from nnlab.results import SubmissionResult, result_from_json

UTC = dt.timezone.utc
EXERCISES = ("my_linear", "leaky_relu", "cross_entropy")


def _assignment(counts: str = "best") -> Assignment:
    return Assignment("hw", "hw", EXERCISES, dt.datetime(2030, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 9, tzinfo=UTC),
                      0.1, 0, counts, "after_due")


def _insert(db: Database, sub: str, result: SubmissionResult, late_days: int = 0, seq_ts: float = 1.0) -> None:
    with sqlite3.connect(db.path) as conn:
        conn.execute("INSERT INTO submissions (id, student, assignment, submitted_at, ts, late_days, files, seed, "
                     "status, result, score, max_score, graded_at, graded) VALUES (?, ?, 'hw', ?, ?, ?, '[]', 1, "
                     "'done', ?, ?, ?, '2030-01-01T00:00:00+00:00', 1)",
                     (sub, result.student, f"2030-01-0{1 + late_days}T00:00:00+00:00", seq_ts, late_days,
                      json.dumps(result.to_json()), result.score, result.max_score))
    conn.close()


def _adjust(db: Database, student: str, exercise: str, kind: str, points: float, check: str = "") -> None:
    with db.write() as conn:
        conn.execute("INSERT INTO adjustments (assignment, student, exercise, check_id, kind, points, reason, author, "
                     "created_at) VALUES ('hw', ?, ?, ?, ?, ?, 'r', 'instructor', '2030-01-02T00:00:00+00:00')",
                     (student, exercise, check, kind, points))


@pytest.fixture()
def course(tmp_path: Path) -> tuple[Database, list[SubmissionResult]]:
    results = synthetic_class(8, EXERCISES, seed=3)
    db = Database(tmp_path / "data")
    db.add_accounts([RosterEntry(r.student or "") for r in results] + [RosterEntry("nobody")], new_token)
    for n, result in enumerate(results):
        _insert(db, f"sub{n}", result, late_days=2 if n % 3 == 1 else 0, seq_ts=1.0 + n)
    _insert(db, "again0", results[0], late_days=1, seq_ts=50.0)  # a second, later upload of the same work
    _adjust(db, results[0].student or "", EXERCISES[0], "override", 1.0)
    _adjust(db, results[2].student or "", EXERCISES[1], "delta", 0.5, results[2].exercises[1].checks[0].test_id)
    _adjust(db, results[4].student or "", "not_an_exercise", "delta", 1.0)
    return db, results


def _fresh(db: Database, assignment: Assignment) -> list[dict[str, Any]]:
    """The grades as the gradebook computed them before any cache: every row read and parsed from its text."""
    gradebook.parsed.clear()
    gradebook.counts.clear()
    gradebook.reports.clear()
    return [g.to_json(assignment) for g in gradebook.grades(db, assignment)]


@pytest.mark.parametrize("counts", ["best", "last"])
def test_warm_answers_equal_fresh_ones(course: tuple[Database, list[SubmissionResult]], counts: str) -> None:
    db, _ = course
    assignment = _assignment(counts)
    fresh = _fresh(db, assignment)
    report, results = gradebook.class_report(db, assignment), gradebook.results_json(db, assignment)
    for _ in range(2):  # warm: parsed results, the report and results.json come from the caches
        assert [g.to_json(assignment) for g in gradebook.grades(db, assignment)] == fresh
        assert gradebook.counted_results(db, assignment) == fresh
        assert json.loads(gradebook.results_json(db, assignment)) == fresh
        assert gradebook.class_report(db, assignment) == report and gradebook.results_json(db, assignment) == results
    assert len(fresh) == 9 and [r["submission_id"] for r in fresh if r["student"] == "nobody"] == [None]


def test_an_adjustment_or_extension_after_a_warm_read_shows_at_once(course: tuple[Database, list[SubmissionResult]]
                                                                    ) -> None:
    db, results = course
    assignment = _assignment()
    student = results[1].student or ""
    before, report = _fresh(db, assignment), gradebook.class_report(db, assignment)
    _adjust(db, student, EXERCISES[2], "override", 0.0)
    after = [g.to_json(assignment) for g in gradebook.grades(db, assignment)]
    assert after != before and after == _fresh(db, assignment)
    warm_report = gradebook.class_report(db, assignment)
    assert warm_report != report and warm_report == gradebook.class_report(db, assignment)
    gradebook.reports.clear()
    assert gradebook.class_report(db, assignment) == warm_report
    extensions.grant(db, extensions.Extension("hw", student, dt.datetime(2030, 1, 5, tzinfo=UTC), None, 0, "r",
                                              "instructor", "2030-01-02T00:00:00+00:00"))
    extended = next(r for r in gradebook.counted_results(db, assignment) if r["student"] == student)
    assert extended["late_days"] == 0 and extended == next(r for r in _fresh(db, assignment)
                                                           if r["student"] == student)


def test_a_changed_stored_text_is_read_anew(course: tuple[Database, list[SubmissionResult]]) -> None:
    """Keyed by the text itself: a row whose result changes (a regrade) is never answered from the old parse."""
    db, results = course
    assignment = _assignment("last")
    _fresh(db, assignment)
    report = gradebook.class_report(db, assignment)
    regraded = dataclasses.replace(results[5], exercises=tuple(
        dataclasses.replace(e, checks=tuple(dataclasses.replace(c, score=0.0) for c in e.checks))
        for e in results[5].exercises))
    with db.write() as conn:
        conn.execute("UPDATE submissions SET result = ?, score = 0 WHERE id = 'sub5'",
                     (json.dumps(regraded.to_json()),))
    warm = next(r for r in gradebook.counted_results(db, assignment) if r["submission_id"] == "sub5")
    assert warm["score"] == 0.0 and results[5].score > 0
    assert gradebook.class_report(db, assignment) != report


def test_scores_csv_is_the_csv_of_the_counted_results(course: tuple[Database, list[SubmissionResult]]) -> None:
    """scores.csv from the counted records equals the one written from their JSON read back (the former path)."""
    db, _ = course
    assignment = _assignment()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scores.csv"
        write_scores_csv([result_from_json(r) for r in _fresh(db, assignment)], EXERCISES, path)
        assert gradebook.scores_csv(db, assignment) == path.read_text(encoding="utf-8")


def test_the_parsed_cache_keeps_within_its_budget() -> None:
    one, two = synthetic_class(2, EXERCISES, seed=5)
    texts = [json.dumps(one.to_json()), json.dumps(two.to_json())]
    cache = gradebook._Parsed(len(texts[0]) + 10)
    first = cache(texts[0])
    assert first == one and cache(texts[0]) is first  # parsed once
    assert cache(texts[1]) == two and cache(texts[0]) is not first  # the budget held one: the first went


def test_warming_reads_the_counted_results_once_and_grades_stay_the_same(
        course: tuple[Database, list[SubmissionResult]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The server warms its gradebook at start: after it, does the instructor's first read parse
    no stored result at all, and give the grades a cold read gives?"""
    db, _ = course
    assignment = _assignment()
    gradebook.parsed.clear()
    gradebook.counts.clear()
    cold = gradebook.grades(db, assignment)
    gradebook.parsed.clear()
    gradebook.counts.clear()
    gradebook.warm(db, [assignment])
    parses: list[str] = []
    real = gradebook.result_from_json
    monkeypatch.setattr(gradebook, "result_from_json", lambda data: parses.append("x") or real(data))
    warm = gradebook.grades(db, assignment)
    assert parses == [], "a warmed gradebook must not parse a stored result again"
    assert [(g.row or {}).get("id") for g in warm] == [(g.row or {}).get("id") for g in cold]
    assert [g.counted.final.score for g in warm] == [g.counted.final.score for g in cold]

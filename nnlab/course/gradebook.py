"""Views of stored submissions: what a student may see, and the instructor's counted grades."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.course import adjust, extensions
from nnlab.course.adjust import ServerUnmatched
from nnlab.course.config import Assignment
from nnlab.course.db import Account, Database
from nnlab.course.policy import (Counted, apply_gradebook, counted_index, penalty_factor, shown_score,
                                 student_view)
from nnlab.results import Confinement, ExerciseResult, SubmissionResult, result_from_json


class _Parsed:
    """Stored results already parsed, by the SHA-256 of their stored text: reading the JSON back
    into records is most of what a page over a class costs (about 4 ms a result at 24
    exercises), and a text is read the same way every time, so an entry can never be stale.
    The instructor's adjustments, the late penalty and extensions are applied on every read to
    the parsed result (records are frozen), never kept here. Least recently used entries go
    once their texts add up to more than `budget` characters."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._chars = 0
        self._items: OrderedDict[bytes, tuple[SubmissionResult, int]] = OrderedDict()
        self._lock = threading.Lock()  # the pages' handlers run in a thread pool

    def __call__(self, text: str) -> SubmissionResult:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]
        result = result_from_json(json.loads(text))  # outside the lock: two threads may both parse once
        with self._lock:
            if key not in self._items:
                self._items[key] = (result, len(text))
                self._chars += len(text)
                while self._chars > self._budget and len(self._items) > 1:
                    self._chars -= self._items.popitem(last=False)[1][1]
        return result

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._chars = 0


parsed = _Parsed(256 * 2**20)
"""The server's parsed results: 256 MB of stored text (a few thousand results at 24 exercises,
held in about two thirds of that) covers every counted upload of a large course."""


def stored_result(row: dict[str, Any]) -> SubmissionResult | None:
    return parsed(row["result"]) if row.get("result") else None


def counted(result: SubmissionResult, stored: Sequence[dict[str, Any]], days: int,
            assignment: Assignment) -> tuple[Counted, list[ServerUnmatched]]:
    """The result with the instructor's stored adjustments and the late penalty applied, by the
    gradebook arithmetic `nnlab grade` also uses (read-time only: what is stored stays as graded,
    so a regrade keeps every adjustment)."""
    rows = [adjust.to_row(a) for a in stored]
    [grade], missed = apply_gradebook([result], rows, {result.student or "": days},
                                      assignment.late_penalty_per_day)
    return grade, adjust.unmatched(missed)


class _Counts:
    """`counted` of stored results, by the parsed result object itself (`parsed` hands out the
    same object for the same text, and an entry holds it, so its id is never another's while
    kept), the student's adjustments as stored, the late days and the penalty rate: applying
    the adjustments to 24 exercises is most of a warm page's time, and the same inputs always
    give the same grade. The least recently used of `size` entries go first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], tuple[SubmissionResult, Counted, tuple[ServerUnmatched, ...]]]
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, result: SubmissionResult, stored: Sequence[dict[str, Any]], days: int,
                 assignment: Assignment) -> tuple[Counted, list[ServerUnmatched]]:
        key = (id(result), tuple(tuple(sorted(a.items())) for a in stored), days, assignment.late_penalty_per_day)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is result:
                self._items.move_to_end(key)
                return hit[1], list(hit[2])
        grade, missed = counted(result, stored, days, assignment)
        with self._lock:
            self._items[key] = (result, grade, tuple(missed))
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return grade, missed

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


counts = _Counts(4096)


def adjusted(result: SubmissionResult, stored: Sequence[dict[str, Any]]
             ) -> tuple[SubmissionResult, list[ServerUnmatched]]:
    """The result with the instructor's stored adjustments applied, before any late penalty."""
    [grade], missed = apply_gradebook([result], [adjust.to_row(a) for a in stored], {}, 0.0)
    return grade.adjusted, adjust.unmatched(missed)


def _meta(row: dict[str, Any], assignment: Assignment, raw_score: float) -> dict[str, Any]:
    factor = penalty_factor(int(row["late_days"]), assignment)
    return {"submission_id": row["id"], "submitted_at": row["submitted_at"],
            "late_days": row["late_days"], "late_penalty": round(1.0 - factor, 6),
            "raw_score": raw_score}


def instructor_result(row: dict[str, Any], assignment: Assignment,
                      stored: Sequence[dict[str, Any]] = ()) -> dict[str, Any] | None:
    """The whole result, adjusted, with the late penalty applied, plus the score before it
    (`raw_score`, adjusted): score = raw_score x (1 - late_penalty)."""
    result = stored_result(row)
    if result is None:
        return None
    grade = counted(result, stored, int(row["late_days"]), assignment)[0]
    return {**grade.final.to_json(), **_meta(row, assignment, grade.adjusted.score)}


@dataclass(frozen=True)
class SubmissionView:
    """An upload as one viewer may see it (GET /api/v1/submissions/{id}, the feedback page)."""

    id: str
    student: str
    assignment: str
    status: str
    """'queued', 'running', 'done' or 'error'."""
    submitted_at: str
    late_days: int
    """Counted against the student's own due date (an extension)."""
    files: tuple[str, ...]
    result: dict[str, Any] | None = None
    """The graded result as this viewer may see it: the instructor's (`instructor_result`) or
    the student's (`policy.student_view`); None until graded."""
    queue_position: int | None = None
    """Uploads to be graded before it, while it waits."""
    queue_estimate_s: int | None = None
    """Seconds until it is graded, when the recent pace allows a guess."""
    error: str | None = None
    """Why grading failed, when it did."""

    @property
    def score(self) -> float | None:
        return self.result["score"] if self.result else None

    @property
    def max_score(self) -> float | None:
        return self.result["max_score"] if self.result else None

    def to_json(self) -> dict[str, Any]:
        """The API's object: the keys in this order; the queue's and the error's only where they apply."""
        data: dict[str, Any] = {
            "id": self.id, "student": self.student, "assignment": self.assignment, "status": self.status,
            "submitted_at": self.submitted_at, "late_days": self.late_days, "files": list(self.files),
            "result": self.result, "score": self.score, "max_score": self.max_score}
        for key in ("queue_position", "queue_estimate_s", "error"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


def submission_json(row: dict[str, Any], viewer: Account, assignment: Assignment,
                    now: dt.datetime, db: Database) -> dict[str, Any]:
    """GET /api/v1/submissions/{id}: `submission_view` as the API writes it."""
    return submission_view(row, viewer, assignment, now, db).to_json()


def submission_view(row: dict[str, Any], viewer: Account, assignment: Assignment,
                    now: dt.datetime, db: Database) -> SubmissionView:
    """The row, and its result as this viewer may see it, with the instructor's adjustments to
    this student's grade on this assignment applied, and late days counted against the
    student's own due date (an extension)."""
    extension = extensions.granted(db, assignment.id, row["student"]).get(row["student"])
    row = extensions.with_late_days(row, assignment, extension)
    assignment = extensions.effective(assignment, extension)
    position: int | None = None
    estimate: int | None = None
    if row["status"] == "queued":
        position = db.queue_position(row["seq"])
        waited = db.queue_estimate(position, now)
        estimate = None if waited is None else round(waited)
    view: dict[str, Any] | None = None
    result = stored_result(row) if row["status"] == "done" else None
    if result is not None:
        stored = db.adjustments(assignment.id, row["student"])
        if viewer.role == "instructor":
            view = instructor_result(row, assignment, stored)
        else:
            view = student_view(adjusted(result, stored)[0], assignment, now, int(row["late_days"]))
    return SubmissionView(row["id"], row["student"], row["assignment"], row["status"], row["submitted_at"],
                          row["late_days"], tuple(json.loads(row["files"])), view, position, estimate,
                          (row["error"] or "the grader failed") if row["status"] == "error" else None)


def not_submitted(student: str, assignment: Assignment) -> SubmissionResult:
    """A roster student with no graded upload: every exercise 'not submitted', zero of the same maximum."""
    from nnlab import __version__
    from nnlab.grader.exercise import get_exercise

    exercises = []
    for ex_id in assignment.exercises:
        exercise = get_exercise(ex_id)
        exercises.append(ExerciseResult(ex_id, exercise.title, (), exercise.points,
                                        f"{ex_id}.py was not submitted", submitted=False))
    return SubmissionResult(student, tuple(exercises), 0, Confinement("none", ()), "", __version__, "")


@dataclass(frozen=True)
class Grade:
    """One student's counted grade on an assignment, before it is turned into JSON."""

    counted: Counted
    """The counted upload's result, adjusted, and its late penalty."""
    row: dict[str, Any] | None
    """The counted upload's row; None when the student has no graded upload."""
    unmatched: list[ServerUnmatched]
    """The student's adjustments that matched nothing in the result."""

    @property
    def result(self) -> SubmissionResult:
        """The result with the adjustments applied, before the late penalty."""
        return self.counted.adjusted

    @property
    def factor(self) -> float:
        """What the late penalty leaves (1.0 when on time)."""
        return self.counted.factor

    def to_json(self, assignment: Assignment) -> dict[str, Any]:
        """results.json form, penalty applied, with the submission's facts beside it."""
        if self.row is None:
            return {**self.counted.final.to_json(), "submission_id": None, "submitted_at": None,
                    "late_days": 0, "late_penalty": 0.0, "raw_score": self.result.score}
        return {**self.counted.final.to_json(), **_meta(self.row, assignment, self.result.score)}


def _grade(student: str, rows: list[dict[str, Any]], assignment: Assignment,
           stored: Sequence[dict[str, Any]], load: Callable[[dict[str, Any]], SubmissionResult | None]) -> Grade:
    done: dict[int, tuple[Counted, list[ServerUnmatched]]] = {}

    def graded(i: int) -> tuple[Counted, list[ServerUnmatched]]:
        if i not in done:
            result = load(rows[i])
            days = int(rows[i]["late_days"])
            done[i] = counts(result, stored, days, assignment) if result is not None else \
                counted(not_submitted(student, assignment), stored, days, assignment)
        return done[i]

    # Without adjustments an upload's shown score is its stored score after the penalty: no
    # result is read to rank them.
    index = counted_index(len(rows), assignment.counts,
                          lambda i: graded(i)[0].shown if stored else float(rows[i]["shown_score"]))
    if index is None:
        grade, missed = counted(not_submitted(student, assignment), stored, 0, assignment)
        return Grade(grade, None, missed)
    grade, missed = graded(index)
    return Grade(grade, rows[index], missed)


def _graded_rows(db: Database, assignment: str, student: str | None) -> list[dict[str, Any]]:
    """The graded uploads' rows, upload order, without their results' text (most of a row's bytes)."""
    columns = [c["name"] for c in db.query("PRAGMA table_info(submissions)") if c["name"] != "result"]
    sql = (f"SELECT {', '.join(columns)} FROM submissions WHERE assignment = ? AND status = 'done' "
           "AND result IS NOT NULL AND result != ''")
    if student is None:
        return db.query(sql + " ORDER BY seq", (assignment,))
    return db.query(sql + " AND student = ? ORDER BY seq", (assignment, student))


def _with_results(db: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Adds each row's stored result text, in as few queries as SQLite's parameter limit allows."""
    for start in range(0, len(rows), 500):
        part = rows[start:start + 500]
        texts = {r["seq"]: r["result"] for r in db.query(
            f"SELECT seq, result FROM submissions WHERE seq IN ({', '.join('?' * len(part))})",
            tuple(r["seq"] for r in part))}
        for row in part:
            row["result"] = texts.get(row["seq"])


def _needed(rows: list[dict[str, Any]], assignment: Assignment, adjusted: bool) -> list[dict[str, Any]]:
    """The uploads whose results `_grade` reads: the counted one; every one when counts = "best"
    must rank them after the student's adjustments."""
    if adjusted and assignment.counts == "best":
        return rows
    index = counted_index(len(rows), assignment.counts, lambda i: float(rows[i]["shown_score"]))
    return [] if index is None else [rows[index]]


def grades(db: Database, assignment: Assignment, student: str | None = None) -> list[Grade]:
    """Each student's counted grade, roster order (`student` narrows it to one).

    Students on the roster without a graded upload get every exercise not submitted. Which
    upload counts is `policy.counted_index` on each upload's shown score (adjusted, then
    penalized), the number its student sees beside it. Late days
    are counted against each student's own due date (their extension, if any). Only the
    results the grades need are read, each parsed once per server (`parsed`).
    """
    return _graded(db, assignment, student)[0]


def _graded(db: Database, assignment: Assignment, student: str | None = None
            ) -> tuple[list[Grade], list[dict[str, Any]]]:
    """`grades`, and the adjustments they were made with (read once: the class report's key)."""
    by_student: dict[str, list[dict[str, Any]]] = {}
    granted = extensions.granted(db, assignment.id, student)
    for row in _graded_rows(db, assignment.id, student):
        row = extensions.with_late_days(row, assignment, granted.get(row["student"]))
        factor = penalty_factor(int(row["late_days"]), assignment)
        by_student.setdefault(row["student"], []).append(
            {**row, "shown_score": shown_score(float(row["score"]), factor)})
    adjustments: dict[str, list[dict[str, Any]]] = {}
    every = db.adjustments(assignment.id, student)
    for stored in every:
        adjustments.setdefault(stored["student"], []).append(stored)
    _with_results(db, [r for name, rows in by_student.items()
                       for r in _needed(rows, assignment, name in adjustments)])

    def load(row: dict[str, Any]) -> SubmissionResult | None:
        if "result" not in row:  # not foreseen by _needed: read on its own, never guessed
            _with_results(db, [row])
        return stored_result(row)

    students = sorted(set(db.students()) | set(by_student)) if student is None else [student]
    return [_grade(name, by_student.get(name, []), assignment, adjustments.get(name, ()), load)
            for name in students], every


def counted_with_unmatched(db: Database, assignment: Assignment
                           ) -> tuple[list[dict[str, Any]], list[ServerUnmatched]]:
    """One counted result per student (results.json form, adjusted, penalties applied), roster
    order, and every stored adjustment that matched nothing, in the order they were added."""
    counted, adjustments = _graded(db, assignment)
    missed = sorted((u for g in counted for u in g.unmatched), key=lambda u: u.seq)
    return json.loads(_results_text(counted, adjustments, assignment)), missed


def _results_text(counted: Sequence[Grade], adjustments: Sequence[dict[str, Any]], assignment: Assignment) -> str:
    """The counted results as results.json writes them; kept as text, so each reader gets its own objects."""
    return reports.get(b"results.json" + _report_key(counted, adjustments, assignment),
                       lambda: json.dumps([g.to_json(assignment) for g in counted], indent=2))


def results_json(db: Database, assignment: Assignment) -> str:
    """The instructor's results.json download: `counted_results`, indented."""
    return _results_text(*_graded(db, assignment), assignment)


def counted_results(db: Database, assignment: Assignment) -> list[dict[str, Any]]:
    """counted_with_unmatched without the unmatched adjustments (the results endpoint)."""
    return counted_with_unmatched(db, assignment)[0]


def counted_submissions(db: Database, assignment: Assignment) -> list[SubmissionResult]:
    """Each student's counted grade as the exports take it: adjusted, late penalty applied."""
    return [g.counted.final for g in grades(db, assignment)]


def scores_csv(db: Database, assignment: Assignment) -> str:
    """GET .../scores.csv: each student's counted grade per exercise and in total, as
    `nnlab grade` writes it (from the counted records themselves, never a JSON round trip)."""
    from nnlab.reports import write_scores_csv

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scores.csv"
        write_scores_csv(counted_submissions(db, assignment), assignment.exercises, path)
        return path.read_text(encoding="utf-8")


class _Reports:
    """The last few class reports and results.json texts by the SHA-256 of everything that
    makes one (the stored results' texts, each student's adjustments, late days and penalty, the
    assignment's exercises and rules): drawing a class's charts and tables, or writing 300
    results, takes seconds at 300 x 24, and the same inputs always give the same text, so an
    entry can never be stale."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pages: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, render: Callable[[], str]) -> str:
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
        page = render()
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)
        return page

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


reports = _Reports(8)


def _report_key(counted: Sequence[Grade], adjustments: Sequence[dict[str, Any]], assignment: Assignment) -> bytes:
    """Every input of the class report and results.json: what the counted results are made of
    (the stored text, the adjustments, the penalty), the uploads' facts beside them (id, late
    days; a row's other facts never change), and the assignment (its exercises and rules)."""
    digest = hashlib.sha256(repr((assignment, [sorted(a.items()) for a in adjustments])).encode(
        "utf-8", "surrogatepass"))
    for grade in counted:
        row = grade.row
        digest.update(repr((grade.result.student, None if row is None else (row["id"], row["late_days"]),
                            grade.factor)).encode("utf-8", "surrogatepass"))
        if row is not None:
            digest.update(hashlib.sha256(row["result"].encode("utf-8", "surrogatepass")).digest())
    return digest.digest()


def class_report(db: Database, assignment: Assignment) -> str:
    """The class report (HTML) of the counted grades: what the checks gave, adjusted, each late
    penalty shown apart on the total."""
    from nnlab.reports import LatePenalty, render_class_report

    counted, adjustments = _graded(db, assignment)  # the key is made of what the grades were

    def render() -> str:
        unmatched = sorted((u for g in counted for u in g.unmatched), key=lambda u: u.seq)
        late = {g.result.student or "": LatePenalty(int(g.row["late_days"]), g.factor)
                for g in counted if g.row is not None and g.factor < 1.0}
        return render_class_report([g.result for g in counted], assignment.exercises,
                                   unmatched_adjustments=unmatched, late=late)

    return reports.get(_report_key(counted, adjustments, assignment), render)


def canvas_csv(db: Database, assignment: Assignment) -> str:
    """GET /api/v1/assignments/{id}/canvas.csv: the numbers of scores.csv, in Canvas's layout."""
    from nnlab.reports.canvas import canvas_text

    return canvas_text(counted_submissions(db, assignment), assignment.exercises)


def warm(db: Database, assignments: Sequence[Assignment]) -> None:
    """Reads every assignment's grades once, so that `parsed` and `counts` hold them before the
    instructor's first page (3-4 s at 300 x 24 when cold, a tenth of that warm). Run beside the
    server at its start; a failure here only leaves the first page slow."""
    for assignment in assignments:
        try:
            grades(db, assignment)
        except Exception:  # logged: the pages read the same grades again and say what failed
            logging.getLogger(__name__).exception("warming the gradebook of %s failed", assignment.id)

"""The leaderboard of an assignment (`leaderboard = true`): timed exercises, correct uploads ranked by timing ratio."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nnlab.course.config import Assignment
from nnlab.course.db import Account, Database
from nnlab.course.policy import hidden_shown, server_now
from nnlab.course.deps import PageRefused, assignment, course_server, signed_in, viewer
from nnlab.course.web.render import PageRoute, page
from nnlab.course.web.session import WebSession, csrf_ok, web_session
from nnlab.errors import RequestRejected
from nnlab.results import ExerciseResult, Outcome, Visibility, result_from_json

ANONYMOUS = "anonymous"
MAX_NAME_CHARS = 40
router = APIRouter(include_in_schema=False, route_class=PageRoute)
_SCHEMA = """CREATE TABLE IF NOT EXISTS display_names (
    student TEXT PRIMARY KEY, name TEXT NOT NULL, folded TEXT NOT NULL UNIQUE)"""


@dataclass(frozen=True)
class Entry:
    """A student's fastest correct upload of one exercise."""

    student: str
    ratio: float
    """Median student time over median torch reference time (lower is faster)."""
    spread: float
    """The measurement's relative spread (interquartile range over median)."""
    submission: str


@dataclass(frozen=True)
class Ranked:
    rank: int
    entry: Entry
    name: str
    """The display name the student chose, or 'anonymous'."""


@dataclass(frozen=True)
class Board:
    exercise: str
    ranked: tuple[Ranked, ...]


def _timed(exercise: ExerciseResult, hidden_too: bool) -> tuple[float, float] | None:
    """(ratio, spread) when every correctness check passed and the timing check measured; else None.

    While students may not see their hidden checks, only the visible ones decide: a place on the
    board must not tell a student what a hidden check said."""
    timed = [c for c in exercise.checks if c.timing is not None]
    correctness = [c for c in exercise.checks
                   if c.timing is None and (hidden_too or c.visibility == Visibility.VISIBLE)]
    if len(timed) != 1 or not correctness or any(c.outcome != Outcome.PASSED for c in correctness):
        return None
    info = timed[0].timing
    assert info is not None
    return (info.ratio, info.spread) if info.ratio > 0 else None


def entries(db: Database, the_assignment: Assignment) -> dict[str, list[Entry]]:
    """Per exercise, each student's lowest-ratio upload that passes every correctness check."""
    best: dict[tuple[str, str], Entry] = {}
    hidden_too = hidden_shown(the_assignment, server_now())
    for row in db.submissions(None, the_assignment.id):
        if row["status"] != "done" or not row["result"]:
            continue
        for exercise in result_from_json(json.loads(row["result"])).exercises:
            measured = _timed(exercise, hidden_too) if exercise.submitted else None
            if measured is None:
                continue
            key = (exercise.id, row["student"])
            if key not in best or measured[0] < best[key].ratio:
                best[key] = Entry(row["student"], measured[0], measured[1], row["id"])
    by_exercise: dict[str, list[Entry]] = {}
    for (exercise_id, _), entry in best.items():
        by_exercise.setdefault(exercise_id, []).append(entry)
    return by_exercise


def rank(found: Sequence[Entry]) -> list[tuple[int, Entry]]:
    """Fastest first; an entry whose ratio lies within the measurement's spread of its group's
    first shares that rank (competition ranking: 1, 1, 3)."""
    ordered = sorted(found, key=lambda e: (e.ratio, e.student))
    ranked: list[tuple[int, Entry]] = []
    leader: Entry | None = None
    rank_of_leader = 0
    for position, entry in enumerate(ordered, start=1):
        if leader is None or entry.ratio > leader.ratio * (1.0 + max(leader.spread, entry.spread)):
            leader, rank_of_leader = entry, position
        ranked.append((rank_of_leader, entry))
    return ranked


def names(db: Database) -> dict[str, str]:
    try:
        return {r["student"]: r["name"] for r in db.query("SELECT student, name FROM display_names")}
    except sqlite3.OperationalError:  # nobody chose a name yet
        return {}


def set_name(db: Database, student: str, name: str) -> None:
    """Stores the student's display name ('' goes back to anonymous); 409 when another has it."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME_CHARS:
        raise RequestRejected(422, f"at most {MAX_NAME_CHARS} characters")
    folded = name.casefold()
    if folded == ANONYMOUS:
        name = ""
    with db.write() as conn:
        conn.execute(_SCHEMA)
        conn.execute("DELETE FROM display_names WHERE student = ?", (student,))
        if name:
            try:
                conn.execute("INSERT INTO display_names (student, name, folded) VALUES (?, ?, ?)",
                             (student, name, folded))
            except sqlite3.IntegrityError:
                raise RequestRejected(409, f"'{name}' is taken; pick another name") from None


def boards(db: Database, the_assignment: Assignment) -> list[Board]:
    found = entries(db, the_assignment)
    chosen = names(db)
    return [Board(ex, tuple(Ranked(r, e, chosen.get(e.student, ANONYMOUS)) for r, e in rank(found[ex])))
            for ex in the_assignment.exercises if ex in found]


def _page(request: Request, account: Account, the_assignment: Assignment, session: WebSession | None,
          status: int = 200, error: str = "") -> HTMLResponse:
    if not the_assignment.leaderboard:
        raise PageRefused(404, f"{the_assignment.id} has no leaderboard")
    db = course_server(request).db
    return page(request, "leaderboard.html.j2", session, status, error=error, a=the_assignment,
                boards=boards(db, the_assignment), account=account,
                hidden_too=hidden_shown(the_assignment, server_now()),
                my_name=names(db).get(account.student, ""))


@router.get("/assignments/{assignment_id}/leaderboard", response_class=HTMLResponse)
def leaderboard(request: Request, account: Account = Depends(viewer),
                the_assignment: Assignment = Depends(assignment),
                session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    return _page(request, account, the_assignment, session)


@router.post("/assignments/{assignment_id}/leaderboard/name", response_class=HTMLResponse)
async def choose_name(request: Request, the_assignment: Assignment = Depends(assignment),
                      session: WebSession = Depends(signed_in)) -> Response:
    form = await request.form(max_files=0, max_fields=4)
    if not csrf_ok(request, session, form.get("csrf")):
        raise PageRefused(403, "the form's CSRF token is missing or wrong; reload the page")
    if session.role != "student":
        raise PageRefused(403, "display names are the students'")
    try:
        await run_in_threadpool(set_name, course_server(request).db, session.student, str(form.get("name") or ""))
    except RequestRejected as refused:
        return await run_in_threadpool(_page, request, session.account, the_assignment, session,
                                       refused.status, refused.detail)
    return RedirectResponse(f"/assignments/{the_assignment.id}/leaderboard", status_code=303)

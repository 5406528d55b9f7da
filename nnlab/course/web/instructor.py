"""The instructor's pages: progress per assignment, extensions, the regrade queue, adjustments, downloads."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from nnlab.course import adjust, extensions, gradebook, policy
from nnlab.course.config import Assignment
from nnlab.course.db import Account
from nnlab.course.deps import PageRefused, assignment, course_server, instructor, signed_in
from nnlab.course.schemas import AdjustmentAdded
from nnlab.course.web import regrades
from nnlab.course.web.render import PageRoute, page
from nnlab.course.web.session import WebSession, csrf_ok, web_session
from nnlab.errors import RequestRejected

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@dataclass(frozen=True)
class Progress:
    """One assignment at a glance."""

    assignment: Assignment
    roster: int
    handed_in: int
    """Students with at least one upload."""
    queued: int
    """Uploads waiting for the grader or being graded."""
    mean: float | None
    """Mean counted score (penalties, extensions and adjustments applied) of those with a graded upload."""
    max_score: float | None
    late: int
    """Students whose counted upload is late."""
    open_regrades: int

    @property
    def not_yet(self) -> int:
        return max(0, self.roster - self.handed_in)


def progress(request: Request, the_assignment: Assignment,
             counted: Sequence[gradebook.Grade] | None = None) -> Progress:
    """The assignment's numbers; `counted` is gradebook.grades when the caller has it already
    (reading every stored result is most of a page's time)."""
    server = course_server(request)
    rows = _uploads(request, the_assignment)
    if counted is None:
        counted = gradebook.grades(server.db, the_assignment)
    grades = [g for g in counted if g.row is not None]
    finals = [g.counted.final for g in grades]
    mean = sum(f.score for f in finals) / len(finals) if finals else None
    return Progress(the_assignment, len(server.db.students()), len({r["student"] for r in rows}),
                    sum(r["status"] in ("queued", "running") for r in rows), mean,
                    finals[0].max_score if finals else None,
                    sum(int(g.row["late_days"]) > 0 for g in grades if g.row is not None),
                    len(regrades.listed(server.db, the_assignment.id, status="open")))


@router.get("/instructor", response_class=HTMLResponse)
def overview(request: Request, account: Account = Depends(instructor),
             session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    server = course_server(request)
    return page(request, "instructor.html.j2", session,
                lines=[progress(request, a) for a in server.course.assignments])


def _uploads(request: Request, the_assignment: Assignment) -> list[dict[str, Any]]:
    """Who uploaded and each upload's status, without the stored results (most of a row's bytes)."""
    return course_server(request).db.query("SELECT student, status FROM submissions WHERE assignment = ? "
                                           "ORDER BY seq", (the_assignment.id,))


def _students(request: Request, the_assignment: Assignment,
              counted: Sequence[gradebook.Grade]) -> list[dict[str, Any]]:
    server = course_server(request)
    granted = extensions.granted(server.db, the_assignment.id)
    uploads: dict[str, int] = {}
    for row in _uploads(request, the_assignment):
        uploads[row["student"]] = uploads.get(row["student"], 0) + 1
    listed = []
    for grade in counted:
        name = grade.result.student or ""
        final = grade.counted.final
        listed.append({"student": name, "uploads": uploads.get(name, 0), "row": grade.row,
                       "score": final.score if grade.row else None, "max_score": final.max_score,
                       "late_days": int(grade.row["late_days"]) if grade.row else 0,
                       "extension": granted.get(name)})
    return listed


def assignment_page(request: Request, the_assignment: Assignment, session: WebSession | None,
                    status: int = 200, error: str = "", flash: str = "") -> HTMLResponse:
    server = course_server(request)
    counted = gradebook.grades(server.db, the_assignment)
    return page(request, "instructor_assignment.html.j2", session, status, error=error, flash=flash,
                a=the_assignment, line=progress(request, the_assignment, counted),
                students=_students(request, the_assignment, counted),
                adjustments=[adjust.to_json(a) for a in server.db.adjustments(the_assignment.id)])


@router.get("/instructor/assignments/{assignment_id}", response_class=HTMLResponse)
def assignment_view(request: Request, account: Account = Depends(instructor),
                    the_assignment: Assignment = Depends(assignment),
                    session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    return assignment_page(request, the_assignment, session)


# ---------------------------------------------------------------- downloads: the API's own numbers


@router.get("/instructor/assignments/{assignment_id}/report", response_class=HTMLResponse)
def report(request: Request, account: Account = Depends(instructor),
           the_assignment: Assignment = Depends(assignment)) -> HTMLResponse:
    return HTMLResponse(gradebook.class_report(course_server(request).db, the_assignment))


@router.get("/instructor/assignments/{assignment_id}/scores.csv")
def scores(request: Request, account: Account = Depends(instructor),
           the_assignment: Assignment = Depends(assignment)) -> Response:
    return _download(gradebook.scores_csv(course_server(request).db, the_assignment), "text/csv",
                     f"{the_assignment.id}-scores.csv")


@router.get("/instructor/assignments/{assignment_id}/canvas.csv")
def canvas(request: Request, account: Account = Depends(instructor),
           the_assignment: Assignment = Depends(assignment)) -> Response:
    return _download(gradebook.canvas_csv(course_server(request).db, the_assignment), "text/csv",
                     f"{the_assignment.id}-canvas.csv")


@router.get("/instructor/assignments/{assignment_id}/results.json")
def results(request: Request, account: Account = Depends(instructor),
            the_assignment: Assignment = Depends(assignment)) -> Response:
    return _download(gradebook.results_json(course_server(request).db, the_assignment), "application/json",
                     f"{the_assignment.id}-results.json")


def _download(text: str, media_type: str, name: str) -> Response:
    return Response(text, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---------------------------------------------------------------- forms


async def _form(request: Request, session: WebSession) -> FormData:
    """The posted form of an instructor's session, its CSRF token checked."""
    form = await request.form(max_files=0, max_fields=16)
    if not csrf_ok(request, session, form.get("csrf")):
        raise PageRefused(403, "the form's CSRF token is missing or wrong; reload the page")
    if session.role != "instructor":
        raise PageRefused(403, "this needs the instructor's session")
    return form


def _local_time(text: str, timezone: str) -> dt.datetime | None:
    """A datetime-local field ('2026-12-20T23:59') read in the course's timezone; None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise RequestRejected(422, f"{text!r} is not a date and time (2026-12-20T23:59)") from None
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo(timezone))


def _now_text(request: Request) -> str:
    now = policy.server_now()
    timezone = course_server(request).course.timezone
    return (now.astimezone(ZoneInfo(timezone)) if timezone else now).isoformat(timespec="seconds")


def _extension(request: Request, form: FormData, the_assignment: Assignment, author: str) -> extensions.Extension:
    server = course_server(request)
    student = str(form.get("student") or "")
    if student not in set(server.db.students()):
        raise RequestRejected(422, f"unknown student '{student}': not on the roster")
    timezone = server.course.timezone or "UTC"
    due = _local_time(str(form.get("due") or ""), timezone)
    late_until = _local_time(str(form.get("late_until") or ""), timezone)
    try:
        extra = int(str(form.get("extra_attempts") or "0"))
    except ValueError:
        raise RequestRejected(422, "extra uploads per hour must be a whole number") from None
    if extra < 0 or extra > 1000:
        raise RequestRejected(422, "extra uploads per hour must be between 0 and 1000")
    if due is None and late_until is None and not extra:
        raise RequestRejected(422, "give another due date, another closing time or extra uploads")
    return extensions.Extension(the_assignment.id, student, due, late_until, extra,
                                str(form.get("reason") or "").strip()[:2000], author, _now_text(request))


@router.post("/instructor/assignments/{assignment_id}/extensions", response_class=HTMLResponse)
async def grant_extension(request: Request, the_assignment: Assignment = Depends(assignment),
                          session: WebSession = Depends(signed_in)) -> Response:
    form = await _form(request, session)
    db = course_server(request).db
    try:
        if form.get("revoke"):
            student = str(form.get("student") or "")
            await run_in_threadpool(extensions.revoke, db, the_assignment.id, student)
            flash = f"The extension of {student} was removed."
        else:
            granted = _extension(request, form, the_assignment, session.student)
            await run_in_threadpool(extensions.grant, db, granted)
            flash = f"Extension granted to {granted.student}."
    except RequestRejected as refused:
        return await run_in_threadpool(assignment_page, request, the_assignment, session, refused.status,
                                       refused.detail)
    return await run_in_threadpool(assignment_page, request, the_assignment, session, 200, "", flash)


def _adjustment_body(form: FormData, student: str, exercise: str, check: str) -> bytes:
    """An adjustment form as the API's JSON body (one code path: CourseServer.add_adjustment)."""
    # A kind the form cannot offer is refused with the API's message, never taken as a delta.
    kind = adjust.requested_kind(form.get("kind") or "delta")
    body: dict[str, Any] = {"student": student, "exercise": exercise, "reason": str(form.get("reason") or "")}
    if check:
        body["check"] = check
    try:
        body[kind.value] = float(str(form.get("points") or ""))
    except ValueError:
        raise RequestRejected(422, "points must be a number") from None
    return json.dumps(body).encode("utf-8")


async def _adjust(request: Request, session: WebSession, the_assignment: Assignment, body: bytes) -> AdjustmentAdded:
    server = course_server(request)
    return await run_in_threadpool(server.add_adjustment, session.account, the_assignment, body, policy.server_now())


@router.post("/instructor/assignments/{assignment_id}/adjustments", response_class=HTMLResponse)
async def add_adjustment(request: Request, the_assignment: Assignment = Depends(assignment),
                         session: WebSession = Depends(signed_in)) -> Response:
    form = await _form(request, session)
    try:
        body = _adjustment_body(form, str(form.get("student") or ""), str(form.get("exercise") or ""),
                                str(form.get("check") or "").strip())
        added = await _adjust(request, session, the_assignment, body)
    except RequestRejected as refused:
        return await run_in_threadpool(assignment_page, request, the_assignment, session, refused.status,
                                       refused.detail)
    flash = "Adjustment added." if added.applied else f"Adjustment stored; {added.unmatched}"
    return await run_in_threadpool(assignment_page, request, the_assignment, session, 200, "", flash)


# ---------------------------------------------------------------- the regrade queue


@router.get("/instructor/regrades", response_class=HTMLResponse)
def regrade_queue(request: Request, account: Account = Depends(instructor),
                  session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    return _queue_page(request, session)


def _queue_page(request: Request, session: WebSession | None, status: int = 200, error: str = "",
                flash: str = "") -> HTMLResponse:
    db = course_server(request).db
    listed = regrades.listed(db)
    return page(request, "regrades.html.j2", session, status, error=error, flash=flash,
                open_requests=[q for q in listed if q.status == "open"],
                answered=[q for q in reversed(listed) if q.status != "open"])


@router.post("/instructor/regrades/{seq}", response_class=HTMLResponse)
async def answer_regrade(request: Request, seq: int, session: WebSession = Depends(signed_in)) -> Response:
    """Accept (an adjustment through the API's own path, its reason the answer) or decline."""
    form = await _form(request, session)
    server = course_server(request)
    asked = regrades.one(server.db, seq)
    if asked is None:
        raise PageRefused(404, "no such regrade request")
    try:
        if asked.status != "open":
            raise RequestRejected(409, "this request was answered already")
        text = regrades.checked_reason(str(form.get("reason") or ""))
        new = None
        if form.get("decision") == "accept":  # checked as the API checks it, stored with the answer
            body = _adjustment_body(form, asked.student, asked.exercise, asked.check)
            new = adjust.parse_request(json.loads(body), server.assignment(asked.assignment),
                                       set(server.db.students()), session.student, _now_text(request))
        await run_in_threadpool(regrades.answer, server.db, seq, "declined" if new is None else "accepted",
                                text, session.student, _now_text(request), new)
    except RequestRejected as refused:
        return await run_in_threadpool(_queue_page, request, session, refused.status, refused.detail)
    return RedirectResponse("/instructor/regrades", status_code=303)


@router.get("/instructor/extensions.json")
def extensions_json(request: Request, account: Account = Depends(instructor)) -> JSONResponse:
    """Every extension granted, for scripts (the pages show them per assignment)."""
    server = course_server(request)
    return JSONResponse([e.to_json() for a in server.course.assignments
                         for e in extensions.granted(server.db, a.id).values()])

"""The students' pages: their assignments, the upload form and their submissions, feedback, regrade requests."""
from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from typing import Any

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from nnlab.course import extensions, gradebook, policy, uploads
from nnlab.course.config import Assignment
from nnlab.course.db import Account
from nnlab.course.deps import PageRefused, assignment, course_server, signed_in, student, viewer
from nnlab.course.web import regrades
from nnlab.course.web.render import PageRoute, environment, page
from nnlab.course.web.session import WebSession, csrf_ok, web_session
from nnlab.errors import RequestRejected

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@dataclass(frozen=True)
class AssignmentLine:
    """One assignment as its student's home page lists it."""

    assignment: Assignment
    closed: bool
    late_days_now: int
    attempts_left: int | None
    """Uploads left in the sliding hour; None without a limit."""
    score: float | None
    """The counted score as this student may see it; None before a graded upload."""
    max_score: float | None
    counted_id: str | None
    pick_withheld: bool = False
    """counts = "best" while hidden checks are withheld: the server picks on every check, so
    naming its pick (or its score) would tell how the hidden checks went."""


def assignment_line(request: Request, account: Account, assignment: Assignment) -> AssignmentLine:
    server = course_server(request)
    now = policy.server_now()
    assignment = extensions.for_student(server.db, assignment, account.student)
    left = None
    if assignment.attempts_per_hour:
        used = server.db.attempts_in_window(account.student, assignment.id, now.timestamp())
        left = max(0, assignment.attempts_per_hour - used)
    [grade] = gradebook.grades(server.db, assignment, account.student)
    score = max_score = None
    counted_id = None
    withheld = False
    if grade.row is not None:
        seen = gradebook.submission_view(grade.row, account, assignment, now, server.db)
        withheld = assignment.counts == "best" and bool(seen.result and seen.result.get("hidden_checks"))
        if not withheld:
            score, max_score, counted_id = seen.score, seen.max_score, grade.row["id"]
    return AssignmentLine(assignment, policy.is_closed(now, assignment), policy.late_days(now, assignment),
                          left, score, max_score, counted_id, withheld)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, account: Account = Depends(student),
         session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    server = course_server(request)
    lines = [assignment_line(request, account, a) for a in server.course.assignments]
    return page(request, "home.html.j2", session, lines=lines, account=account)


def _my_submissions(request: Request, account: Account, assignment: Assignment) -> list[dict[str, Any]]:
    server = course_server(request)
    rows = server.db.submissions(account.student, assignment.id)
    return [server.submission_json(row, account) for row in reversed(rows)]


def _assignment_page(request: Request, account: Account, assignment: Assignment, session: WebSession | None,
                     status: int = 200, error: str = "") -> HTMLResponse:
    return page(request, "assignment.html.j2", session, status, error=error,
                line=assignment_line(request, account, assignment),
                submissions=_my_submissions(request, account, assignment))


@router.get("/assignments/{assignment_id}", response_class=HTMLResponse)
def assignment_page(request: Request, account: Account = Depends(student),
                    the_assignment: Assignment = Depends(assignment),
                    session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    return _assignment_page(request, account, the_assignment, session)


async def _form_upload_body(request: Request, assignment_id: str) -> tuple[bytes, str]:
    """The form's files as the API's JSON body, and the form's CSRF token. Files with no name (an
    empty file input) are left out, as a browser sends one when nothing was chosen."""
    form = await request.form(max_files=uploads.MAX_FILES + 1, max_fields=8)
    files = []
    for item in form.getlist("files"):
        if isinstance(item, StarletteUpload) and item.filename:
            data = await item.read()
            files.append({"name": item.filename, "content": base64.b64encode(data).decode("ascii")})
    body = json.dumps({"assignment": assignment_id, "files": files}).encode("utf-8")
    return body, str(form.get("csrf") or "")


@router.post("/assignments/{assignment_id}/upload", response_class=HTMLResponse)
async def upload(request: Request, the_assignment: Assignment = Depends(assignment),
                 session: WebSession = Depends(signed_in)) -> Response:
    """The upload form: the API's own acceptance (CourseServer.accept), so the same checks, the
    same attempt rules, and a refusal costs nothing."""
    now = policy.server_now()  # the upload's time is when it arrived, as for the API
    account = session.account
    if account.role != "student":
        raise PageRefused(403, "only student accounts submit")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > uploads.MAX_BODY_BYTES:
        return await run_in_threadpool(_assignment_page, request, account, the_assignment, session, 413,
                                       f"the upload is over {uploads.MAX_BODY_BYTES:,} bytes")
    body, sent = await _form_upload_body(request, the_assignment.id)
    if not csrf_ok(request, session, sent):
        raise PageRefused(403, "the form's CSRF token is missing or wrong; reload the page")
    try:
        accepted = await run_in_threadpool(course_server(request).accept, account, body, now)
    except RequestRejected as refused:
        answer = await run_in_threadpool(_assignment_page, request, account, the_assignment, session,
                                         refused.status, refused.detail)
        answer.headers.update(refused.headers)
        return answer
    return RedirectResponse(f"/submissions/{accepted.id}", status_code=303)


# ---------------------------------------------------------------- feedback and regrade requests


def _choices(view: dict[str, Any] | None, asked: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """What the student may still ask about: each exercise, and each check they can see."""
    if view is None or view.get("result") is None:
        return []
    choices = []
    for ex in view["result"]["exercises"]:
        if (ex["id"], "") not in asked:
            choices.append((f"{ex['id']}|", f"{ex['id']}: the whole exercise"))
        for check in ex["checks"]:
            if (ex["id"], check["test_id"]) not in asked:
                choices.append((f"{ex['id']}|{check['test_id']}", f"{ex['id']}: {check['name']}"))
    return choices


def submission_page(request: Request, account: Account, row: dict[str, Any], session: WebSession | None,
                    status: int = 200, error: str = "", flash: str = "") -> HTMLResponse:
    """The feedback page (bearer token or session); a student's own also lists their regrade requests."""
    server = course_server(request)
    view = server.submission_json(row, account)
    asked = regrades.listed(server.db, row["assignment"], row["student"])
    mine = account.role == "student" and session is not None
    parent = feedback_template(server.course.timezone or "UTC")
    return page(request, "submission.html.j2", session, status, error=error, flash=flash, parent=parent,
                s=view, r=view.get("result"), regrades=[q for q in asked if q.submission == row["id"]],
                can_ask=mine and view["status"] == "done",
                choices=_choices(view, {(q.exercise, q.check) for q in asked}) if mine else [])


@functools.lru_cache(maxsize=4)
def feedback_template(timezone: str) -> jinja2.Template:
    """The reports'-style feedback page of nnlab.course.pages, compiled once, that the
    course pages' version extends (adding the bar and the regrade requests)."""
    from nnlab.course.pages import _SUBMISSION  # one template for the page, not a copy of it

    return environment(timezone).from_string(_SUBMISSION)


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def feedback(request: Request, submission_id: str, account: Account = Depends(viewer),
             session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    row = course_server(request).visible_row(submission_id, account)
    return submission_page(request, account, row, session if request.headers.get("authorization") is None
                           else None)


@router.post("/submissions/{submission_id}/regrades", response_class=HTMLResponse)
async def ask_regrade(request: Request, submission_id: str,
                      session: WebSession = Depends(signed_in)) -> Response:
    form = await request.form(max_files=0, max_fields=8)
    if not csrf_ok(request, session, form.get("csrf")):
        raise PageRefused(403, "the form's CSRF token is missing or wrong; reload the page")
    account = session.account
    server = course_server(request)
    row = server.visible_row(submission_id, account)
    if account.role != "student":
        raise PageRefused(403, "regrades are asked for by students; answer them at /instructor/regrades")
    view = await run_in_threadpool(server.submission_json, row, account)
    exercise, _, check = str(form.get("about") or "").partition("|")
    allowed = {tuple(value.split("|", 1)) for value, _ in _choices(view, set())}
    try:
        if (exercise, check) not in allowed:
            raise RequestRejected(422, "pick a check or an exercise of this graded upload")
        now = policy.server_now().isoformat(timespec="seconds")
        await run_in_threadpool(regrades.ask, server.db, row["assignment"], row["student"], row["id"],
                                exercise, check, str(form.get("reason") or ""), now)
    except RequestRejected as refused:
        return await run_in_threadpool(submission_page, request, account, row, session, refused.status,
                                       refused.detail)
    return RedirectResponse(f"/submissions/{submission_id}#regrades", status_code=303)

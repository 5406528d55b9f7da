"""The course server's JSON API (bearer tokens only), one APIRouter per resource, auth and look-ups as dependencies."""
from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response

from nnlab.course import adjust, extensions, gradebook, policy
from nnlab.course.app import CourseServer, read_body
from nnlab.course.config import Assignment
from nnlab.course.db import Account
from nnlab.course.deps import api_account, api_instructor, assignment, course_server
from nnlab.course.queue import submission_folder

assignments = APIRouter(prefix="/api/v1/assignments")
"""The assignments, and what only the instructor reads or writes of each: counted results,
scores.csv, canvas.csv, adjustments (applied to all of these on every read, never stored into a result)."""
submissions = APIRouter(prefix="/api/v1/submissions")
reports = APIRouter()
"""The class report, for the instructor's token."""


def arrived() -> dt.datetime:
    """The server's clock when the request arrived (declared first, so before any other check):
    an upload's time is when it came, not when it was checked."""
    return policy.server_now()


@assignments.get("")
def list_assignments(account: Account = Depends(api_account),
                     server: CourseServer = Depends(course_server)) -> list[dict[str, Any]]:
    return server.assignments_json(account, policy.server_now())


@assignments.get("/{assignment_id}/results")
def results(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
            server: CourseServer = Depends(course_server)) -> list[dict[str, Any]]:
    return gradebook.counted_results(server.db, the_assignment)


@assignments.get("/{assignment_id}/scores.csv")
def scores(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
           server: CourseServer = Depends(course_server)) -> Response:
    return Response(server.scores_csv(the_assignment), media_type="text/csv")


@assignments.get("/{assignment_id}/canvas.csv")
def canvas(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
           server: CourseServer = Depends(course_server)) -> Response:
    return Response(gradebook.canvas_csv(server.db, the_assignment), media_type="text/csv")


@assignments.post("/{assignment_id}/adjustments", status_code=201)
async def add_adjustment(request: Request, now: dt.datetime = Depends(arrived),
                         account: Account = Depends(api_instructor),
                         the_assignment: Assignment = Depends(assignment),
                         server: CourseServer = Depends(course_server)) -> JSONResponse:
    body = await read_body(request)
    added = await run_in_threadpool(server.add_adjustment, account, the_assignment, body, now)
    return JSONResponse(added, status_code=201)


@assignments.get("/{assignment_id}/adjustments")
def adjustments(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
                server: CourseServer = Depends(course_server)) -> list[dict[str, Any]]:
    return [adjust.to_json(a) for a in server.db.adjustments(the_assignment.id)]


@assignments.get("/{assignment_id}/extensions")
def extensions_granted(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
                       server: CourseServer = Depends(course_server)) -> list[dict[str, Any]]:
    """Each student's extension on the assignment (another due date or closing time, extra uploads)."""
    return [e.to_json() for e in extensions.granted(server.db, the_assignment.id).values()]


@submissions.post("", status_code=202)
async def submit(request: Request, now: dt.datetime = Depends(arrived), account: Account = Depends(api_account),
                 server: CourseServer = Depends(course_server)) -> JSONResponse:
    body = await read_body(request)
    accepted = await run_in_threadpool(server.accept, account, body, now)
    return JSONResponse(accepted, status_code=202)


@submissions.get("")
def list_submissions(account: Account = Depends(api_account), assignment: str | None = None,
                     student: str | None = None,
                     server: CourseServer = Depends(course_server)) -> list[dict[str, Any]]:
    if assignment is not None:
        server.assignment(assignment)
    who = student if account.role == "instructor" else account.student
    return [server.submission_json(row, account) for row in server.db.submissions(who, assignment)]


@submissions.get("/{submission_id}")
def submission(submission_id: str, account: Account = Depends(api_account),
               server: CourseServer = Depends(course_server)) -> dict[str, Any]:
    return server.submission_json(server.visible_row(submission_id, account), account)


@submissions.get("/{submission_id}/files")
def submission_files(submission_id: str, account: Account = Depends(api_account),
                     server: CourseServer = Depends(course_server)) -> dict[str, Any]:
    row = server.visible_row(submission_id, account)
    folder = submission_folder(server.data_dir, row["id"])
    return {"id": row["id"], "student": row["student"], "files": [
        {"name": name, "content": base64.b64encode((folder / name).read_bytes()).decode("ascii")}
        for name in json.loads(row["files"])]}


@reports.get("/assignments/{assignment_id}/report", response_class=HTMLResponse)
def report(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
           server: CourseServer = Depends(course_server)) -> HTMLResponse:
    return HTMLResponse(server.report_html(the_assignment))


ROUTERS = (assignments, submissions, reports)

"""The course server's JSON API (bearer tokens only), one APIRouter per resource, auth and look-ups as dependencies."""
from __future__ import annotations

import base64
import datetime as dt
import json

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from nnlab.course import adjust, extensions, gradebook, policy
from nnlab.course.app import CourseServer, read_body
from nnlab.course.config import Assignment
from nnlab.course.db import Account
from nnlab.course.deps import api_account, api_instructor, assignment, course_server
from nnlab.course.queue import submission_folder
from nnlab.course.schemas import (Accepted, AdjustmentAdded, AssignmentInfo, CountedResult, ExtensionInfo,
                                  StoredAdjustment, Submission, SubmissionFiles, SubmittedFile, refusals)


class CsvResponse(Response):
    media_type = "text/csv"


# Every answer is written as its model with `exclude_unset`: a key the server leaves out where it
# does not apply (a student's attempts left, a queued upload's position) stays out.
assignments = APIRouter(prefix="/api/v1/assignments", tags=["assignments"], responses=refusals(401))
"""The assignments, and what only the instructor reads or writes of each: counted results,
scores.csv, canvas.csv, adjustments (applied to all of these on every read, never stored into a result)."""
submissions = APIRouter(prefix="/api/v1/submissions", tags=["submissions"], responses=refusals(401, 404))
reports = APIRouter()
"""The class report, for the instructor's token."""


def arrived() -> dt.datetime:
    """The server's clock when the request arrived (declared first, so before any other check):
    an upload's time is when it came, not when it was checked."""
    return policy.server_now()


@assignments.get("", response_model=list[AssignmentInfo], response_model_exclude_unset=True)
def list_assignments(account: Account = Depends(api_account),
                     server: CourseServer = Depends(course_server)) -> list[AssignmentInfo]:
    return server.assignments_json(account, policy.server_now())


@assignments.get("/{assignment_id}/results", response_model=list[CountedResult],
                 response_model_exclude_unset=True, responses=refusals(403, 404))
def results(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
            server: CourseServer = Depends(course_server)) -> list[CountedResult]:
    """Each roster student's counted result, adjusted, the late penalty applied."""
    return [CountedResult.model_validate(r) for r in gradebook.counted_results(server.db, the_assignment)]


@assignments.get("/{assignment_id}/scores.csv", response_class=CsvResponse,
                 responses=refusals(401, 403, 404, files=True))
def scores(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
           server: CourseServer = Depends(course_server)) -> CsvResponse:
    return CsvResponse(server.scores_csv(the_assignment))


@assignments.get("/{assignment_id}/canvas.csv", response_class=CsvResponse,
                 responses=refusals(401, 403, 404, files=True))
def canvas(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
           server: CourseServer = Depends(course_server)) -> CsvResponse:
    return CsvResponse(gradebook.canvas_csv(server.db, the_assignment))


@assignments.post("/{assignment_id}/adjustments", status_code=201, response_model=AdjustmentAdded,
                  response_model_exclude_unset=True, responses=refusals(403, 404, 413, 422))
async def add_adjustment(request: Request, now: dt.datetime = Depends(arrived),
                         account: Account = Depends(api_instructor),
                         the_assignment: Assignment = Depends(assignment),
                         server: CourseServer = Depends(course_server)) -> AdjustmentAdded:
    """Body: {"student", "exercise", "check" (optional), "delta" or "override", "reason"}."""
    body = await read_body(request)
    added: AdjustmentAdded = await run_in_threadpool(server.add_adjustment, account, the_assignment, body, now)
    return added


@assignments.get("/{assignment_id}/adjustments", response_model=list[StoredAdjustment],
                 response_model_exclude_unset=True, responses=refusals(403, 404))
def adjustments(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
                server: CourseServer = Depends(course_server)) -> list[StoredAdjustment]:
    return [StoredAdjustment.model_validate(adjust.to_json(a)) for a in server.db.adjustments(the_assignment.id)]


@assignments.get("/{assignment_id}/extensions", response_model=list[ExtensionInfo],
                 response_model_exclude_unset=True, responses=refusals(403, 404))
def extensions_granted(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
                       server: CourseServer = Depends(course_server)) -> list[ExtensionInfo]:
    """Each student's extension on the assignment (another due date or closing time, extra uploads)."""
    return [ExtensionInfo.model_validate(e.to_json())
            for e in extensions.granted(server.db, the_assignment.id).values()]


@submissions.post("", status_code=202, response_model=Accepted, response_model_exclude_unset=True,
                  responses=refusals(403, 413, 422, 429))
async def submit(request: Request, now: dt.datetime = Depends(arrived), account: Account = Depends(api_account),
                 server: CourseServer = Depends(course_server)) -> Accepted:
    """Body: {"assignment": ID, "files": [{"name", "content" (base64)}]}: the whole submission."""
    body = await read_body(request)
    accepted: Accepted = await run_in_threadpool(server.accept, account, body, now)
    return accepted


@submissions.get("", response_model=list[Submission], response_model_exclude_unset=True)
def list_submissions(account: Account = Depends(api_account), assignment: str | None = None,
                     student: str | None = None,
                     server: CourseServer = Depends(course_server)) -> list[Submission]:
    if assignment is not None:
        server.assignment(assignment)
    who = student if account.role == "instructor" else account.student
    return [Submission.model_validate(server.submission_json(row, account))
            for row in server.db.submissions(who, assignment)]


@submissions.get("/{submission_id}", response_model=Submission, response_model_exclude_unset=True)
def submission(submission_id: str, account: Account = Depends(api_account),
               server: CourseServer = Depends(course_server)) -> Submission:
    return Submission.model_validate(server.submission_json(server.visible_row(submission_id, account), account))


@submissions.get("/{submission_id}/files", response_model=SubmissionFiles, response_model_exclude_unset=True)
def submission_files(submission_id: str, account: Account = Depends(api_account),
                     server: CourseServer = Depends(course_server)) -> SubmissionFiles:
    row = server.visible_row(submission_id, account)
    folder = submission_folder(server.data_dir, row["id"])
    return SubmissionFiles(id=row["id"], student=row["student"], files=[
        SubmittedFile(name=name, content=base64.b64encode((folder / name).read_bytes()).decode("ascii"))
        for name in json.loads(row["files"])])


@reports.get("/assignments/{assignment_id}/report", response_class=HTMLResponse,
             responses=refusals(401, 403, 404))
def report(account: Account = Depends(api_instructor), the_assignment: Assignment = Depends(assignment),
           server: CourseServer = Depends(course_server)) -> HTMLResponse:
    return HTMLResponse(server.report_html(the_assignment))


ROUTERS = (assignments, submissions, reports)

"""The students' pages: their assignments, the upload form and their submissions, feedback, regrade requests."""
from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from nnlab.course import gradebook, policy
from nnlab.course.config import Assignment
from nnlab.course.db import Account
from nnlab.course.deps import course_server, student
from nnlab.course.web.render import page
from nnlab.course.web.session import WebSession, web_session

router = APIRouter(include_in_schema=False)


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


def assignment_line(request: Request, account: Account, assignment: Assignment) -> AssignmentLine:
    server = course_server(request)
    now = policy.server_now()
    left = None
    if assignment.attempts_per_hour:
        used = server.db.attempts_in_window(account.student, assignment.id, now.timestamp())
        left = max(0, assignment.attempts_per_hour - used)
    [grade] = gradebook.grades(server.db, assignment, account.student)
    score = max_score = None
    counted_id = None
    if grade.row is not None:
        seen = gradebook.submission_json(grade.row, account, assignment, now, server.db)
        score, max_score, counted_id = seen["score"], seen["max_score"], grade.row["id"]
    return AssignmentLine(assignment, policy.is_closed(now, assignment), policy.late_days(now, assignment),
                          left, score, max_score, counted_id)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, account: Account = Depends(student),
         session: WebSession | None = Depends(web_session)) -> HTMLResponse:
    server = course_server(request)
    lines = [assignment_line(request, account, a) for a in server.course.assignments]
    return page(request, "home.html.j2", session, lines=lines, account=account)

"""The course server's ASGI app (FastAPI): what its handlers share (course, database, queue, uploads), its assembly."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import shutil
import threading
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import Response

from nnlab.course import adjust, extensions, gradebook, policy, safety, uploads, web
from nnlab.course.config import Assignment, Course, load_course
from nnlab.course.db import Account, Database, NewSubmission, RateLimited
from nnlab.course.lti.router import make_router as make_lti_router
from nnlab.course.queue import GradingQueue, submission_folder
from nnlab.course.schemas import Accepted, AdjustmentAdded, AssignmentInfo, CountedEffect
from nnlab.errors import RequestRejected

_DRAIN_LIMIT = 64 * 1024 * 1024
"""An oversize body is read and dropped up to here so the client hears the 413."""


class CourseServer:
    """What the request handlers share: the course, the database, the queue."""

    def __init__(self, course: Course, data_dir: Path, queue_threads: int = 1,
                 workers: int | None = None, scheduler: str | None = None) -> None:
        self.course = course
        self.data_dir = Path(data_dir)
        self.db = Database(self.data_dir)
        self.queue = GradingQueue(self.db, self.data_dir, course, queue_threads, workers, scheduler)
        self.queue.lock()

    # ------------------------------------------------------------------ access

    def account(self, request: Request) -> Account:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RequestRejected(401, "missing token: send 'Authorization: Bearer TOKEN'",
                                  headers={"WWW-Authenticate": "Bearer"})
        account = self.db.account(token.strip())
        if account is None:
            raise RequestRejected(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
        return account

    def instructor(self, request: Request) -> Account:
        account = self.account(request)
        if account.role != "instructor":
            raise RequestRejected(403, "this needs the instructor's token")
        return account

    def assignment(self, assignment_id: str) -> Assignment:
        for assignment in self.course.assignments:
            if assignment.id == assignment_id:
                return assignment
        raise RequestRejected(404, f"no assignment '{assignment_id}'")

    def visible_row(self, submission_id: str, account: Account) -> dict[str, Any]:
        """The row, if this account may read it; another student's id answers as an unknown one."""
        row = self.db.submission(submission_id)
        if row is None or account.role != "instructor" and row["student"] != account.student:
            raise RequestRejected(404, "no such submission")
        return row

    # ------------------------------------------------------------------ uploads

    def accept(self, account: Account, body: bytes, now: dt.datetime) -> Accepted:
        """Checks an upload in full, stores its files and queues it; any refusal costs nothing."""
        assignment, entries = uploads.parse_upload(body, self.course)
        if account.role != "student":
            raise RequestRejected(403, "only student accounts submit")
        assignment = extensions.for_student(self.db, assignment, account.student)
        if policy.is_closed(now, assignment):
            raise RequestRejected(403, f"{assignment.id} closed at {assignment.late_until.isoformat()}; "
                                       "nothing is accepted after it")
        files = uploads.check_files(entries, assignment)
        if self.course.timezone:  # shown to students in the course's time, as its deadlines are
            now = now.astimezone(ZoneInfo(self.course.timezone))
        submission_id = secrets.token_urlsafe(16)
        folder = self._store(submission_id, files)
        days = policy.late_days(now, assignment)
        try:
            in_window = self.db.accept(NewSubmission(
                submission_id, account.student, assignment.id, now, days,
                json.dumps([f.name for f in files]), secrets.randbits(62)), assignment.attempts_per_hour)
        except RateLimited as limited:
            shutil.rmtree(folder, ignore_errors=True)
            raise RequestRejected(429, f"at most {assignment.attempts_per_hour} uploads per hour for "
                                       f"{assignment.id}; try again in {limited.retry_after} s",
                                  headers={"Retry-After": str(limited.retry_after)}) from None
        self.queue.wake()
        left = max(0, assignment.attempts_per_hour - in_window) if assignment.attempts_per_hour else None
        return Accepted(id=submission_id, status="queued", late_days=days, attempts_left=left,
                        submitted_at=now.isoformat(timespec="seconds"))

    def _store(self, submission_id: str, files: list[uploads.UploadFile]) -> Path:
        """Writes the files to a fresh folder, made visible by one rename once complete."""
        final = submission_folder(self.data_dir, submission_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=final.parent))
        for file in files:
            with open(staging / file.name, "wb") as handle:
                handle.write(file.data)
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(staging, final)
        return final

    # ------------------------------------------------------------------ reading

    def assignments_json(self, account: Account, now: dt.datetime) -> list[AssignmentInfo]:
        listed = []
        for assignment in self.course.assignments:
            if account.role == "student":  # the student's own dates and limit (an extension)
                assignment = extensions.for_student(self.db, assignment, account.student)
            data = {**assignment.to_json(), "closed": policy.is_closed(now, assignment),
                    "late_days_now": policy.late_days(now, assignment)}
            if account.role == "student" and assignment.attempts_per_hour:
                used = self.db.attempts_in_window(account.student, assignment.id, now.timestamp())
                data["attempts_left"] = max(0, assignment.attempts_per_hour - used)
            listed.append(AssignmentInfo.model_validate(data))
        return listed

    def submission_json(self, row: dict[str, Any], account: Account) -> dict[str, Any]:
        assignment = self.assignment(row["assignment"])
        return gradebook.submission_json(row, account, assignment, policy.server_now(), self.db)

    def add_adjustment(self, account: Account, assignment: Assignment, body: bytes,
                       now: dt.datetime) -> AdjustmentAdded:
        """Checks and stores an instructor adjustment; what it does to the counted result now."""
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested a thousand deep
            raise RequestRejected(422, "the body is not JSON") from None
        if self.course.timezone:  # recorded in the course's time, as its deadlines are
            now = now.astimezone(ZoneInfo(self.course.timezone))
        new = adjust.parse_request(request, assignment, set(self.db.students()), account.student,
                                   now.isoformat(timespec="seconds"))
        seq = self.db.add_adjustment(new)
        [grade] = gradebook.grades(self.db, assignment, new.student)
        stored = next(a for a in self.db.adjustments(assignment.id, new.student) if a["seq"] == seq)
        missed = [u.describe() for u in grade.unmatched if u.seq == seq]
        exercise = next((e for e in grade.result.exercises if e.id == new.exercise), None)
        counted = None if exercise is None else CountedEffect(
            submission_id=grade.row["id"] if grade.row else None,
            original_score=exercise.original_score, adjusted_score=exercise.score,
            score=round(exercise.score * grade.factor, 6), max_score=exercise.max_score,
            late_penalty=round(1.0 - grade.factor, 6))
        return AdjustmentAdded(**adjust.to_json(stored), applied=not missed,
                               unmatched=missed[0] if missed else None, counted=counted)

    def scores_csv(self, assignment: Assignment) -> str:
        return gradebook.scores_csv(self.db, assignment)

    def report_html(self, assignment: Assignment) -> str:
        return gradebook.class_report(self.db, assignment)


async def read_body(request: Request) -> bytes:
    """The request body, or 413 as soon as it is known to be over the limit."""
    length = request.headers.get("content-length", "")
    too_large = RequestRejected(413, f"the upload is over {uploads.MAX_BODY_BYTES:,} bytes")
    if length.isdigit() and int(length) > _DRAIN_LIMIT:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= uploads.MAX_BODY_BYTES:
            chunks.append(chunk)
        elif size > _DRAIN_LIMIT:
            break
    if size > uploads.MAX_BODY_BYTES:
        raise too_large
    return b"".join(chunks)


def create_app(course_path: Path, data_dir: Path, workers: int | None = None,
               scheduler: str | None = None, queue_threads: int | None = None) -> FastAPI:
    """The ASGI app; its lifespan starts the grading queue and stops it on shutdown."""
    # Each grading thread waits on one student at a time, so one thread per grading worker.
    threads = queue_threads or workers or min(8, os.cpu_count() or 2)
    server = CourseServer(load_course(course_path), data_dir, threads, workers, scheduler)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server.queue.start()
        # The instructor's first page need not parse every stored result: read them meanwhile.
        threading.Thread(target=gradebook.warm, args=(server.db, server.course.assignments),
                         name="nnlab-gradebook-warm", daemon=True).start()
        yield
        server.queue.stop()

    # /openapi.json and /docs describe the JSON API, so instructors can script against it.
    app = FastAPI(title=f"nnlab course server: {server.course.name}", lifespan=lifespan,
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.server = server
    from nnlab.course import api  # it imports this module's CourseServer and read_body

    for router in api.ROUTERS:
        app.include_router(router)
    web.install(app, server)  # the browser pages: sessions, sign-in, students' and instructor's pages
    app.include_router(make_lti_router(server))  # LTI 1.3: /lti/login, /lti/launch, /lti/jwks, passback
    safety.install(app)  # error answers always encodable; input that slipped through is a 4xx
    app.add_exception_handler(RequestRejected, _refused)
    return app


async def _refused(request: Request, exc: Exception) -> Response:
    """Every refusal of the course server's code: `{"detail": ...}` with its status and headers."""
    assert isinstance(exc, RequestRejected)
    return safety.error_response(exc.status, exc.detail, exc.headers or None)

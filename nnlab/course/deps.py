"""The course server's FastAPI dependencies: who is asking (bearer token or browser session), and look-ups."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Depends, Request

from nnlab.course.config import Assignment
from nnlab.course.db import Account
from nnlab.course.web.session import WebSession, web_session
from nnlab.errors import RequestRejected

if TYPE_CHECKING:
    from nnlab.course.app import CourseServer


class LoginRequired(Exception):
    """A browser page asked for without a session (and without a bearer token): answered with
    the sign-in form, status 401."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class PageRefused(RequestRejected):
    """A browser page's refusal (role, CSRF token): answered as a page saying why, same status
    (where the JSON API answers `{"detail": ...}`)."""


def course_server(request: Request) -> CourseServer:
    server: CourseServer = request.app.state.server
    return server


def api_account(request: Request) -> Account:
    """The JSON API's caller: its bearer token only (a cookie never authorizes the API, so no
    other site can make a browser call it)."""
    return course_server(request).account(request)


def api_instructor(request: Request) -> Account:
    return course_server(request).instructor(request)


def viewer(request: Request, session: WebSession | None = Depends(web_session)) -> Account:
    """The account asking: its bearer token when it sends one (the API's rules), else its browser session."""
    if request.headers.get("authorization") is not None:
        return course_server(request).account(request)
    if session is None:
        raise LoginRequired(request.url.path)
    return session.account


def signed_in(request: Request, session: WebSession | None = Depends(web_session)) -> WebSession:
    """A browser session, required by every form post (a bearer token does not post forms)."""
    if session is None:
        raise LoginRequired(request.url.path)
    return session


def student(account: Account = Depends(viewer)) -> Account:
    if account.role != "student":
        raise PageRefused(403, "this page is a student's")
    return account


def instructor(account: Account = Depends(viewer)) -> Account:
    if account.role != "instructor":
        raise PageRefused(403, "this needs the instructor's token")
    return account


def assignment(assignment_id: str, request: Request) -> Assignment:
    """The assignment named in the path, or RequestRejected 404."""
    return course_server(request).assignment(assignment_id)

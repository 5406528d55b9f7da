"""The course in a browser: sign-in, the students' and the instructor's pages, served by the course server's app."""
from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import Response

if TYPE_CHECKING:
    from nnlab.course.app import CourseServer


async def _login_required(request: Request, exc: Exception) -> Response:
    from nnlab.course.deps import LoginRequired
    from nnlab.course.web.auth import login_page

    assert isinstance(exc, LoginRequired)
    return login_page(request, exc.path if request.method == "GET" else "", 401)


_HEADINGS = {403: "Not allowed", 404: "Not found", 409: "Already done", 429: "Too many tries"}


async def _refused(request: Request, exc: Exception) -> Response:
    from nnlab.course.deps import PageRefused
    from nnlab.course.web.render import page
    from nnlab.course.web.session import web_session

    assert isinstance(exc, PageRefused)
    answer = page(request, "refused.html.j2", web_session(request), exc.status, error=exc.detail,
                  code=exc.status, heading=_HEADINGS.get(exc.status, "Refused"))
    answer.headers.update(exc.headers)
    return answer


def install(app: FastAPI, server: CourseServer) -> None:
    """Adds the session middleware, the pages' routers and the sign-in answer to a page without a session."""
    from nnlab.course.deps import LoginRequired, PageRefused
    from nnlab.course.web import auth, instructor, leaderboard, regrades, student
    from nnlab.course.web.session import SessionMiddleware, SessionStore

    store = SessionStore(server.db, server.data_dir)
    app.state.web_sessions = store
    regrades.ensure(server.db)
    app.add_middleware(SessionMiddleware, store=store)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageRefused, _refused)
    app.include_router(auth.router)
    app.include_router(student.router)
    app.include_router(instructor.router)
    app.include_router(leaderboard.router)

"""The browser pages' templates: the reports' page shell and filters, autoescaped, with the course's clock."""
from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from nnlab.course.deps import PageRefused
from nnlab.course.pages import format_when
from nnlab.course.safety import printable
from nnlab.course.web.session import WebSession, csrf_token
from nnlab.reports.language import ReportLanguage
from nnlab.errors import RequestRejected

TEMPLATES = Path(__file__).parent / "templates"


@functools.lru_cache(maxsize=4)
def environment(timezone: str) -> jinja2.Environment:
    """The reports' environment (autoescaped: ids, names, messages and reasons come from outside),
    with these pages' templates in front of the reports' own."""
    from nnlab.reports.render import TEMPLATES_DIR
    from nnlab.reports.render import environment as report_environment

    env = report_environment().overlay(loader=jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(TEMPLATES), jinja2.FileSystemLoader(TEMPLATES_DIR)]))
    env.filters["when"] = functools.partial(format_when, timezone=timezone)
    env.filters["signed"] = lambda value: f"{float(value):+g}"
    return env


def page(request: Request, name: str, session: WebSession | None, status: int = 200,
         csrf: str | None = None, **context: Any) -> HTMLResponse:
    """A page from web/templates with who is signed in and the CSRF token its forms carry; in
    English (`tr`, the words of the reports' page shell these pages extend)."""
    server = request.app.state.server
    context = {"flash": "", "error": "", **context}
    timezone = server.course.timezone or "UTC"
    html = environment(timezone).get_template(name).render(
        course=server.course, session=session, csrf=csrf if csrf is not None else csrf_token(request, session),
        timezone=timezone, tr=ReportLanguage(), **context)
    return HTMLResponse(html, status_code=status)


class PageRoute(APIRoute):
    """A browser page's route: a refusal of the code it shares with the JSON API (an unknown or
    another student's submission, an unknown assignment, a bad bearer token) is answered as a
    page saying why, in the pages' style, as the pages' own refusals are; /api/v1 answers JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except PageRefused:
                raise
            except RequestRejected as refused:  # the detail may quote a path's lone surrogate
                raise PageRefused(refused.status, printable(refused.detail), refused.headers) from None

        return answer

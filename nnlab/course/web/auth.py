"""Signing in and out in a browser: the token pasted once, or a one-time link; sign-out."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nnlab.course.db import Account
from nnlab.course.deps import PageRefused, course_server
from nnlab.course.web.render import PageRoute, page
from nnlab.course.web.session import (WebSession, csrf_ok, end_session, keep_presession, presession,
                                      presession_csrf, start_session, web_session)

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def home(account: Account) -> str:
    return "/instructor" if account.role == "instructor" else "/"


def _local(path: str) -> str:
    """`path` when it stays on this server; '' otherwise (no open redirect to another site)."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else ""


def login_page(request: Request, next_path: str = "", status: int = 200, error: str = "") -> HTMLResponse:
    """The sign-in form (also the answer to a page asked for without a session)."""
    return _presession_page(request, "login.html.j2", status, next_path=_local(next_path), error=error)


def _presession_page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A form shown before sign-in, its CSRF token tied to the browser's pre-session cookie."""
    pre = presession(request)
    response = page(request, name, None, status, csrf=presession_csrf(pre), **context)
    keep_presession(request, response, pre)
    return response


def _signed_in(request: Request, account: Account, next_path: str) -> Response:
    response = RedirectResponse(_local(next_path) or home(account), status_code=303)
    start_session(response, account)
    return response


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "",
               session: WebSession | None = Depends(web_session)) -> Response:
    if session is not None:
        return RedirectResponse(_local(next) or home(session.account), status_code=303)
    return login_page(request, next)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, None, form.get("csrf")):
        return login_page(request, str(form.get("next") or ""), 403,
                          "The form had expired; sign in again.")
    store = request.app.state.web_sessions
    if store.too_many_failures(_client(request)):
        raise PageRefused(429, "too many failed sign-ins; wait a few minutes")
    token = str(form.get("token") or "").strip()
    account = course_server(request).db.account(token) if token else None
    if account is None:
        store.failed(_client(request))
        return login_page(request, str(form.get("next") or ""), 401, "That token is not valid.")
    return _signed_in(request, account, str(form.get("next") or ""))


@router.get("/login/link/{link}", response_class=HTMLResponse)
def link_form(request: Request, link: str) -> HTMLResponse:
    """A confirmation form, so that a mail scanner that follows the link does not spend it."""
    return _presession_page(request, "link.html.j2", link=link)


@router.post("/login/link")
async def use_link(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, None, form.get("csrf")):
        return login_page(request, "", 403, "The form had expired; open the link again.")
    store = request.app.state.web_sessions
    if store.too_many_failures(_client(request)):
        raise PageRefused(429, "too many failed sign-ins; wait a few minutes")
    account = store.redeem_link(str(form.get("link") or ""))
    if account is None:
        store.failed(_client(request))
        return login_page(request, "", 401, "This sign-in link was used already or has expired; "
                                            "ask your instructor for a new one, or paste your token.")
    return _signed_in(request, account, "")


@router.post("/logout")
async def logout(request: Request, session: WebSession | None = Depends(web_session)) -> Response:
    form = await request.form()
    if session is not None and not csrf_ok(request, session, form.get("csrf")):
        raise PageRefused(403, "the form's CSRF token is missing or wrong")
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon, said plainly: browsers ask for one on every page."""
    return Response(status_code=204)

"""The LTI routes of the course server: /lti/login, /lti/launch, /lti/jwks, and the instructor's sync."""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import threading
import urllib.parse
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from joserfc.jwk import RSAKey

from nnlab.course.db import Account
from nnlab.course.lti import keys, outbox, store
from nnlab.course.lti.launch import Launch, LaunchRefused, validate
from nnlab.course.lti.platform_keys import PlatformKeys
from nnlab.course.lti.registration import Platform, find_platform, load_platforms
from nnlab.course.lti.services import Services
from nnlab.course.schemas import LtiSyncQueued, refusals
from nnlab.errors import RequestRejected, UsageError

if TYPE_CHECKING:
    from nnlab.course.app import CourseServer

STATE_COOKIE = "nnlab_lti_state"
_PAGE = """{% extends "base.html.j2" %}
{% block title %}nnlab: {{ heading }}{% endblock %}
{% block content %}
<h1>{{ heading }}</h1>
<p class="lead">{{ reason }}</p>
<p class="muted">Open nnlab again from your course in the LMS{% if retry_after %} in {{ retry_after }}
seconds{% endif %}. If this keeps happening, tell your instructor what this page says.</p>
{% endblock %}
"""


@functools.lru_cache(maxsize=1)
def _template() -> Any:
    from nnlab.reports.render import environment

    return environment().from_string(_PAGE)


def refusal_page(reason: str, status: int, heading: str = "The LMS launch was refused",
                 retry_after: int | None = None) -> HTMLResponse:
    """Why a launch or login was refused, as a page (autoescaped: the reason may quote the token)."""
    from nnlab.reports.language import ReportLanguage  # the shared page shell writes in its language

    page = HTMLResponse(_template().render(heading=heading, reason=reason, retry_after=retry_after,
                                           tr=ReportLanguage()), status_code=status)
    if retry_after is not None:
        page.headers["Retry-After"] = str(retry_after)
    return page


def refused_page(refused: LaunchRefused, heading: str) -> HTMLResponse:
    if refused.status >= 500:  # the LMS failed us, not the launch: say so
        heading = "nnlab could not check the LMS launch"
    return refusal_page(refused.reason, refused.status, heading, refused.retry_after)


class LtiTool:
    """What the LTI routes share: the registrations, the platforms' keys, this tool's key, the outbox."""

    def __init__(self, server: CourseServer) -> None:
        self.server = server
        self.platforms: tuple[Platform, ...] = load_platforms(server.course.path)
        self.platform_keys = PlatformKeys()
        store.install(server.db)
        outbox.install(server.db)
        self._services: dict[tuple[str, str], Services] = {}
        self._lock = threading.Lock()
        self.outbox = outbox.Outbox(server.db, server.course, self.platforms, self.services)

    def key(self) -> RSAKey:
        return keys.load_key(self.server.data_dir)

    def services(self, platform: Platform) -> Services:
        with self._lock:
            made = self._services.get((platform.issuer, platform.client_id))
            if made is None:
                try:
                    key = self.key()
                except UsageError as error:
                    from nnlab.course.lti.calls import PlatformError

                    raise PlatformError(str(error)) from None
                made = self._services[(platform.issuer, platform.client_id)] = Services(platform, key)
            return made


def _secure(request: Request, platform: Platform) -> bool:
    """Whether the browser reaches this server over HTTPS: the registered public URL says so, or
    the request came so (directly, or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return platform.tool_url.startswith("https://") or request.url.scheme == "https" or forwarded == "https"


def cookie_flags(secure: bool) -> dict[str, Any]:
    """How the LTI cookies are set. Inside the LMS's iframe they are third-party cookies: only
    SameSite=None (which needs Secure) carries them on the cross-site form post of the launch and
    on every request of the framed pages after it, and Partitioned (CHIPS) keeps them working in
    browsers that block unpartitioned third-party cookies. Over plain HTTP (a test on one
    machine) a browser takes neither, so Lax then."""
    samesite: Literal["none", "lax"] = "none" if secure else "lax"
    return {"httponly": True, "secure": secure, "samesite": samesite, "partitioned": secure}


def set_cookie(response: Response, name: str, value: str, max_age: int, path: str, secure: bool) -> None:
    """A cookie with `cookie_flags`; max_age 0 clears it (with the same flags, or a browser keeps a
    partitioned one)."""
    flags = cookie_flags(secure)
    partitioned = flags.pop("partitioned")
    # Python's http.cookies knows Partitioned only from 3.14 on (Starlette refuses it before):
    # the attribute is put on the header here.
    response.set_cookie(name, value, max_age=max_age, path=path, **flags)
    if partitioned:
        key, header = response.raw_headers[-1]
        response.raw_headers[-1] = (key, header + b"; Partitioned")


async def _fields(request: Request) -> dict[str, str]:
    """The query string, and a form body over it (a platform may GET or POST the login)."""
    fields = dict(request.query_params)
    if request.method == "POST":
        from nnlab.course.app import read_body  # the server's size limit (413 past it)

        body = await read_body(request)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise LaunchRefused("the form is not UTF-8") from None
        fields.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
    return fields


def login_redirect(tool: LtiTool, request: Request, fields: dict[str, str]) -> Response:
    """OIDC third-party login initiation: a fresh state (bound to this browser) and nonce, then
    off to the platform's authorization endpoint."""
    issuer, hint = fields.get("iss", ""), fields.get("login_hint", "")
    if not issuer or not hint:
        raise LaunchRefused("the login request lacks 'iss' or 'login_hint'")
    platform = find_platform(tool.platforms, issuer, fields.get("client_id"))
    if platform is None:
        raise LaunchRefused(f"no [lti] registration in course.toml for issuer {issuer!r}"
                            + (f" and client id {fields['client_id']!r}" if fields.get("client_id") else ""),
                            403)
    deployment = fields.get("lti_deployment_id")
    if deployment and deployment not in platform.deployment_ids:
        raise LaunchRefused(f"deployment {deployment!r} is not registered for this course", 403)
    login = store.new_state(tool.server.db, platform.issuer, platform.client_id)
    params = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
              "prompt": "none", "client_id": platform.client_id, "redirect_uri": launch_url(platform, request),
              "login_hint": hint, "state": login.state, "nonce": login.nonce}
    if fields.get("lti_message_hint"):
        params["lti_message_hint"] = fields["lti_message_hint"]
    separator = "&" if "?" in platform.auth_login_url else "?"
    response = RedirectResponse(platform.auth_login_url + separator + urllib.parse.urlencode(params), 302)
    set_cookie(response, STATE_COOKIE, login.state, store.STATE_LIFETIME_S, "/lti/", _secure(request, platform))
    return response


def launch_url(platform: Platform, request: Request) -> str:
    base = platform.tool_url or str(request.base_url).rstrip("/")
    return keys.tool_urls(base)["launch"]


def accept_launch(tool: LtiTool, request: Request, fields: dict[str, str]) -> Launch:
    """The launch of an id_token POST, once the state it carries is this browser's and unused."""
    if fields.get("error"):
        raise LaunchRefused(f"the LMS refused the login: {fields.get('error_description') or fields['error']}",
                            403)
    id_token, state = fields.get("id_token", ""), fields.get("state", "")
    if not id_token or not state:
        raise LaunchRefused("the launch lacks 'id_token' or 'state'")
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not cookie or cookie != state:
        raise LaunchRefused("the login state does not belong to this browser (its cookie is missing "
                            "or different); start again from the LMS", 403)
    login = store.take_state(tool.server.db, state)
    if login is None:
        raise LaunchRefused("the login state is unknown, used or expired; start again from the LMS")
    launch = validate(id_token, login, tool.platforms, tool.platform_keys, tool.server.db)
    db = tool.server.db
    if launch.context is not None:
        store.save_context(db, launch.context)
        if launch.lineitem and launch.assignment in {a.id for a in tool.server.course.assignments}:
            store.save_lineitem(db, launch.platform.issuer, launch.context.context_id, launch.assignment,
                                launch.lineitem)
    return launch


def _landing(tool: LtiTool, launch: Launch) -> str:
    """A student's assignment page when the resource link names one, else the account's home."""
    from nnlab.course.web.auth import home

    known = {a.id for a in tool.server.course.assignments}
    if launch.user.role == "student" and launch.assignment in known:
        return f"/assignments/{urllib.parse.quote(launch.assignment)}"
    return home(Account(launch.user.sub, launch.user.role))


def _sign_in(response: Response, launch: Launch, tool: LtiTool, secure: bool) -> None:
    from nnlab.course.web.session import COOKIE, SESSION_SECONDS, start_session

    start_session(response, store.link_user(tool.server.db, launch.user))
    if not secure:
        return
    # The web session's cookie is SameSite=Lax, which a browser keeps out of the LMS's iframe:
    # the same cookie again, with the third-party flags the framed pages need.
    kept = [(k, v) for k, v in response.raw_headers
            if k != b"set-cookie" or not v.startswith(COOKIE.encode() + b"=")]
    cookie = SimpleCookie()
    for key, value in response.raw_headers:
        if (key, value) not in kept:
            cookie.load(value.decode("latin-1"))
    response.raw_headers[:] = kept
    if COOKIE in cookie:
        set_cookie(response, COOKIE, cookie[COOKIE].value, SESSION_SECONDS, "/", True)


def make_router(server: CourseServer) -> APIRouter:
    """The LTI routes; the router's lifespan runs the grade passback thread beside the server's own."""
    tool = LtiTool(server)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if tool.platforms:
            if not keys.key_path(server.data_dir).exists():
                logging.getLogger("nnlab.lti").warning(
                    "course.toml registers an LMS but %s has no LTI key: run `nnlab lti keys --data %s`; "
                    "until then grades are not sent", server.data_dir, server.data_dir)
            tool.outbox.start()
        yield
        tool.outbox.stop()

    router = APIRouter(lifespan=lifespan)

    # The LMS and the browser speak to these two, not scripts: they stay out of /openapi.json.
    @router.api_route("/lti/login", methods=["GET", "POST"], response_class=HTMLResponse,
                      include_in_schema=False)
    async def login(request: Request) -> Response:
        try:
            fields = await _fields(request)
            return await run_in_threadpool(login_redirect, tool, request, fields)
        except LaunchRefused as refused:
            return refused_page(refused, "The LMS login was refused")

    @router.post("/lti/launch", response_class=HTMLResponse, include_in_schema=False)
    async def launch(request: Request) -> Response:
        try:
            fields = await _fields(request)
            accepted = await run_in_threadpool(accept_launch, tool, request, fields)
        except LaunchRefused as refused:
            return refused_page(refused, "The LMS launch was refused")
        response = RedirectResponse(_landing(tool, accepted), 303)
        secure = _secure(request, accepted.platform)
        set_cookie(response, STATE_COOKIE, "", 0, "/lti/", secure)
        await run_in_threadpool(_sign_in, response, accepted, tool, secure)
        return response

    @router.get("/lti/jwks")
    def jwks() -> JSONResponse:
        try:
            return JSONResponse(keys.public_jwks(tool.key()))
        except UsageError:
            raise RequestRejected(404, "no LTI key yet: run `nnlab lti keys --data DATA_DIR`") from None

    @router.post("/api/v1/lti/sync", response_model=LtiSyncQueued, tags=["lti"],
                 responses=refusals(401, 403, 404, 413, 422))
    async def sync(request: Request) -> LtiSyncQueued:
        """Body: {"assignment": ID}: every counted score of it queued for the LMS again."""
        await run_in_threadpool(server.instructor, request)
        from nnlab.course.app import read_body

        try:
            body = json.loads(await read_body(request))
        except (ValueError, RecursionError):
            raise RequestRejected(422, "the body is not JSON") from None
        assignment = server.assignment(str(body.get("assignment", "")) if isinstance(body, dict) else "")
        queued = await run_in_threadpool(outbox.queue_scores, server.db, assignment, True)
        return LtiSyncQueued(assignment=assignment.id, queued=queued, platforms=len(tool.platforms))

    return router

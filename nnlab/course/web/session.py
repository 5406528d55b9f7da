"""Browser sessions: a signed, HttpOnly cookie naming a server-side session; CSRF tokens; one-time sign-in links."""
from __future__ import annotations

import contextvars
import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from nnlab.course.accounts import hash_token
from nnlab.course.db import Account, Database

COOKIE = "nnlab_session"
PRE_COOKIE = "nnlab_presession"
"""Set by the sign-in page before there is a session, so its form's CSRF token has something to be tied to."""
SESSION_SECONDS = 12 * 3600
LINK_SECONDS = 14 * 86400
"""How long a one-time sign-in link written by `nnlab roster --links` stays valid."""
KEY_FILE = "web-session.key"
_FAILURES_ALLOWED = 50
"""Failed sign-ins per client in the window: a class behind one NAT address mistypes now and then,
and a 256-bit token is not found by trying anyway; this stops a script hammering the server."""
_FAILURE_WINDOW_S = 300.0
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS web_sessions (
        id_hash TEXT PRIMARY KEY, student TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS signin_links (
        token_hash TEXT PRIMARY KEY, student TEXT NOT NULL, created REAL NOT NULL,
        expires REAL NOT NULL, used REAL)""",
)


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: whose, until when, and the CSRF token its forms carry."""

    student: str
    role: str
    csrf: str
    expires: float

    @property
    def account(self) -> Account:
        return Account(self.student, self.role)


def _secret_key(data_dir: Path) -> bytes:
    """DATA_DIR's signing key, made once, readable by the server's owner only."""
    path = Path(data_dir) / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process that made it this instant may still be writing it
            key = path.read_bytes()
            if len(key) >= 32:
                return key
            time.sleep(0.1)
        raise RuntimeError(f"{path}: shorter than a key; remove it and start the server again") from None
    with os.fdopen(fd, "wb") as handle:
        key = secrets.token_bytes(32)
        handle.write(key)
    return key


class SessionStore:
    """Sessions and sign-in links in the course database; only hashes of their secrets are stored."""

    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self._key = _secret_key(data_dir)
        self._signer = URLSafeTimedSerializer(self._key, salt="nnlab-session")
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        with db.write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    # ------------------------------------------------------------------ sessions

    def start(self, account: Account) -> str:
        """A new session (a fresh id at every sign-in); the cookie's value."""
        sid = secrets.token_urlsafe(32)
        now = time.time()
        with self.db.write() as conn:
            conn.execute("DELETE FROM web_sessions WHERE expires < ?", (now,))
            conn.execute("INSERT INTO web_sessions (id_hash, student, created, expires) VALUES (?, ?, ?, ?)",
                         (hash_token(sid), account.student, now, now + SESSION_SECONDS))
        return self._signer.dumps(sid)

    def _sid(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            sid = self._signer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # also a cookie older than SESSION_SECONDS (SignatureExpired)
            return None
        return sid if isinstance(sid, str) else None

    def read(self, cookie: str | None) -> WebSession | None:
        """The live session a cookie names; None when unsigned, expired, ended or the account revoked."""
        sid = self._sid(cookie)
        if sid is None:
            return None
        rows = self.db.query(
            "SELECT s.student AS student, a.role AS role, s.expires AS expires FROM web_sessions AS s "
            "JOIN accounts AS a ON a.student = s.student "
            "WHERE s.id_hash = ? AND s.expires > ? AND a.revoked = 0", (hash_token(sid), time.time()))
        if not rows:
            return None
        row = rows[0]
        return WebSession(row["student"], row["role"], self._mac("csrf", sid), float(row["expires"]))

    def end(self, cookie: str | None) -> None:
        sid = self._sid(cookie)
        if sid is not None:
            with self.db.write() as conn:
                conn.execute("DELETE FROM web_sessions WHERE id_hash = ?", (hash_token(sid),))

    # ------------------------------------------------------------------ CSRF

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def presession_csrf(self, pre: str) -> str:
        """The CSRF token of a form shown before sign-in, tied to the pre-session cookie."""
        return self._mac("pre", pre)

    # ------------------------------------------------------------------ one-time links

    def new_links(self, students: list[str], lifetime_s: float = LINK_SECONDS) -> dict[str, str]:
        """A fresh one-time sign-in token per student (stored hashed; it replaces their older one); student -> token."""
        now = time.time()
        made = {student: secrets.token_urlsafe(32) for student in students}
        with self.db.write() as conn:
            conn.execute("DELETE FROM signin_links WHERE expires < ? OR used IS NOT NULL", (now,))
            for student, token in made.items():
                conn.execute("DELETE FROM signin_links WHERE student = ?", (student,))
                conn.execute("INSERT INTO signin_links (token_hash, student, created, expires) VALUES (?, ?, ?, ?)",
                             (hash_token(token), student, now, now + lifetime_s))
        return made

    def redeem_link(self, token: str) -> Account | None:
        """The account a link signs in, spending it; None when unknown, used, expired or revoked."""
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT l.student, a.role FROM signin_links AS l JOIN accounts AS a ON a.student = l.student "
                "WHERE l.token_hash = ? AND l.used IS NULL AND l.expires > ? AND a.revoked = 0",
                (hash_token(token), now)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE signin_links SET used = ? WHERE token_hash = ?", (now, hash_token(token)))
        return Account(row[0], row[1])

    # ------------------------------------------------------------------ sign-in rate limit

    def too_many_failures(self, client: str) -> bool:
        """Whether this client failed to sign in too often lately (tokens are not guessable; this
        keeps a script from trying)."""
        with self._lock:
            recent = self._failures.get(client)
            cutoff = time.monotonic() - _FAILURE_WINDOW_S
            while recent and recent[0] < cutoff:
                recent.popleft()
            return recent is not None and len(recent) >= _FAILURES_ALLOWED

    def failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, deque()).append(time.monotonic())


@dataclass(frozen=True)
class _RequestContext:
    store: SessionStore
    secure: bool
    """Whether the browser reached us over HTTPS (directly, or through a proxy that says so)."""
    cookie: str | None


_context: contextvars.ContextVar[_RequestContext] = contextvars.ContextVar("nnlab_web_request")


class SessionMiddleware:
    """Makes the session store and the request's transport known to start_session/end_session."""

    def __init__(self, app: ASGIApp, store: SessionStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        forwarded = connection.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        secure = scope.get("scheme") == "https" or forwarded == "https"
        token = _context.set(_RequestContext(self.store, secure, connection.cookies.get(COOKIE)))
        try:
            await self.app(scope, receive, send)
        finally:
            _context.reset(token)


def _current() -> _RequestContext:
    try:
        return _context.get()
    except LookupError:
        raise RuntimeError("no browser session support: the app lacks nnlab's SessionMiddleware") from None


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                        secure=_current().secure)


def start_session(response: Response, account: Account) -> None:
    """Signs `account` in on this browser: a new session id (any earlier one of this browser ends)."""
    context = _current()
    context.store.end(context.cookie)
    _cookie(response, COOKIE, context.store.start(account), SESSION_SECONDS)


def end_session(response: Response) -> None:
    """Signs this browser out: the session ends on the server, the cookie is cleared."""
    context = _current()
    context.store.end(context.cookie)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=context.secure)


def web_session(request: Request) -> WebSession | None:
    """Dependency: the browser's live session, or None."""
    return _current().store.read(request.cookies.get(COOKIE))


def presession(request: Request) -> str:
    """This browser's pre-session value, or a new one to set with `keep_presession`."""
    pre = request.cookies.get(PRE_COOKIE) or ""
    return pre if len(pre) >= 20 else secrets.token_urlsafe(24)


def keep_presession(request: Request, response: Response, pre: str) -> None:
    if request.cookies.get(PRE_COOKIE) != pre:
        _cookie(response, PRE_COOKIE, pre, SESSION_SECONDS)


def presession_csrf(pre: str) -> str:
    """The CSRF token of a form shown before sign-in, tied to the pre-session value."""
    return _current().store.presession_csrf(pre)


def csrf_token(request: Request, session: WebSession | None) -> str:
    """What a form on this page must send back as `csrf`."""
    if session is not None:
        return session.csrf
    return _current().store.presession_csrf(request.cookies.get(PRE_COOKIE) or "")


def csrf_ok(request: Request, session: WebSession | None, sent: Any) -> bool:
    """Whether a posted form's `csrf` field is this browser's token (its session's, or its pre-session's)."""
    if not isinstance(sent, str) or not sent:
        return False
    if session is not None:
        return hmac.compare_digest(sent, session.csrf)
    pre = request.cookies.get(PRE_COOKIE) or ""
    return bool(pre) and hmac.compare_digest(sent, _current().store.presession_csrf(pre))

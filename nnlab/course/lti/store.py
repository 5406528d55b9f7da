"""The LTI tables in the course database: login states, used nonces, linked users, contexts, line items."""
from __future__ import annotations

import contextlib
import datetime as dt
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from nnlab.course.accounts import INSTRUCTOR, hash_token
from nnlab.course.db import Account, Database

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lti_states (
    state TEXT PRIMARY KEY, nonce TEXT NOT NULL, issuer TEXT NOT NULL, client_id TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS lti_nonces (
    issuer TEXT NOT NULL, nonce TEXT NOT NULL, used REAL NOT NULL, PRIMARY KEY (issuer, nonce));
CREATE TABLE IF NOT EXISTS lti_users (
    issuer TEXT NOT NULL, sub TEXT NOT NULL, student TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '', role TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
    updated_at TEXT NOT NULL, PRIMARY KEY (issuer, sub));
CREATE TABLE IF NOT EXISTS lti_contexts (
    issuer TEXT NOT NULL, context_id TEXT NOT NULL, client_id TEXT NOT NULL, deployment_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '', memberships_url TEXT NOT NULL DEFAULT '',
    lineitems_url TEXT NOT NULL DEFAULT '', updated_at TEXT NOT NULL, PRIMARY KEY (issuer, context_id));
CREATE TABLE IF NOT EXISTS lti_lineitems (
    issuer TEXT NOT NULL, context_id TEXT NOT NULL, assignment TEXT NOT NULL, url TEXT NOT NULL,
    PRIMARY KEY (issuer, context_id, assignment));
"""
"""IF NOT EXISTS, run at every start: a course database made before LTI gains these and keeps its rows."""

STATE_LIFETIME_S = 600
"""A login that takes longer than this between the redirect and the launch starts over."""
NONCE_KEPT_S = 2 * 86400
"""Used nonces are remembered this long: past it, the token they came in has long expired."""
_ID_CHARS = re.compile(r"[^A-Za-z0-9_.@+-]")


def install(db: Database) -> None:
    with contextlib.closing(sqlite3.connect(db.path, timeout=60)) as conn:
        conn.executescript(_SCHEMA)


def now_text() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class LoginState:
    """What /lti/login promised the browser that carries `state`."""

    state: str
    nonce: str
    issuer: str
    client_id: str


def new_state(db: Database, issuer: str, client_id: str) -> LoginState:
    login = LoginState(secrets.token_urlsafe(24), secrets.token_urlsafe(24), issuer, client_id)
    now = time.time()
    with db.write() as conn:
        conn.execute("DELETE FROM lti_states WHERE created < ?", (now - STATE_LIFETIME_S,))
        conn.execute("INSERT INTO lti_states VALUES (?, ?, ?, ?, ?)",
                     (login.state, login.nonce, issuer, client_id, now))
    return login


def take_state(db: Database, state: str) -> LoginState | None:
    """The login `state` belongs to, used up (a state answers one launch), or None if unknown or stale."""
    with db.write() as conn:
        row = conn.execute("SELECT * FROM lti_states WHERE state = ?", (state,)).fetchone()
        conn.execute("DELETE FROM lti_states WHERE state = ?", (state,))
    if row is None or row["created"] < time.time() - STATE_LIFETIME_S:
        return None
    return LoginState(row["state"], row["nonce"], row["issuer"], row["client_id"])


def use_nonce(db: Database, issuer: str, nonce: str) -> bool:
    """Records a nonce as used; False when it was used before (a replayed id_token)."""
    now = time.time()
    with db.write() as conn:
        conn.execute("DELETE FROM lti_nonces WHERE used < ?", (now - NONCE_KEPT_S,))
        return conn.execute("INSERT OR IGNORE INTO lti_nonces VALUES (?, ?, ?)",
                            (issuer, nonce, now)).rowcount == 1


@dataclass(frozen=True)
class LmsUser:
    """A person as the LMS names them (a launch or a roster entry)."""

    issuer: str
    sub: str
    name: str
    email: str
    role: str
    """'student' or 'instructor'."""


def _candidate(user: LmsUser) -> str:
    """A readable, valid student id for a new account: the e-mail if it fits, else the LMS id."""
    for text in (user.email, f"lti-{user.sub}"):
        cleaned = _ID_CHARS.sub("-", text).strip("-.")[:90]
        if cleaned and cleaned != INSTRUCTOR and cleaned[0].isalnum():
            return cleaned
    return f"lti-{secrets.token_hex(6)}"


def link_user(db: Database, user: LmsUser) -> Account:
    """The course account of an LMS user, matched by (issuer, sub); made on first sight.

    Name, e-mail and role follow the LMS on every sight; the account gets a random token that
    nobody is shown (LTI users sign in through the LMS).
    """
    now = now_text()
    with db.write() as conn:
        row = conn.execute("SELECT student FROM lti_users WHERE issuer = ? AND sub = ?",
                           (user.issuer, user.sub)).fetchone()
        if row is None:
            base = student = _candidate(user)
            taken = {r[0] for r in conn.execute("SELECT student FROM accounts")}
            suffix = 2
            while student in taken:
                student, suffix = f"{base}-{suffix}", suffix + 1
            conn.execute("INSERT INTO accounts (student, role, name, email, token_hash, created_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (student, user.role, user.name, user.email,
                                                        hash_token(secrets.token_urlsafe(32)), now))
        else:
            student = row["student"]
            conn.execute("UPDATE accounts SET role = ?, name = ?, email = ? WHERE student = ?",
                         (user.role, user.name, user.email, student))
        conn.execute("INSERT OR REPLACE INTO lti_users VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
                     (user.issuer, user.sub, student, user.name, user.email, user.role, now))
    return Account(student, user.role)


def mark_left(db: Database, issuer: str, present: set[str]) -> list[str]:
    """Marks the issuer's linked users missing from `present` (subs) as left; the students marked."""
    with db.write() as conn:
        rows = conn.execute("SELECT sub, student FROM lti_users WHERE issuer = ? AND status = 'active'",
                            (issuer,)).fetchall()
        gone = [r for r in rows if r["sub"] not in present]
        for row in gone:
            conn.execute("UPDATE lti_users SET status = 'left', updated_at = ? WHERE issuer = ? AND sub = ?",
                         (now_text(), issuer, row["sub"]))
    return [r["student"] for r in gone]


@dataclass(frozen=True)
class Context:
    """An LMS course that launched the tool, with the service URLs its launches carried."""

    issuer: str
    context_id: str
    client_id: str
    deployment_id: str
    title: str
    memberships_url: str
    lineitems_url: str


def save_context(db: Database, context: Context) -> None:
    """Keeps the latest launch's service URLs; a launch without one keeps the one known."""
    with db.write() as conn:
        old = conn.execute("SELECT memberships_url, lineitems_url FROM lti_contexts WHERE issuer = ? "
                           "AND context_id = ?", (context.issuer, context.context_id)).fetchone()
        members = context.memberships_url or (old["memberships_url"] if old else "")
        items = context.lineitems_url or (old["lineitems_url"] if old else "")
        conn.execute("INSERT OR REPLACE INTO lti_contexts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (context.issuer, context.context_id, context.client_id, context.deployment_id,
                      context.title, members, items, now_text()))


def contexts(db: Database) -> list[Context]:
    return [Context(r["issuer"], r["context_id"], r["client_id"], r["deployment_id"], r["title"],
                    r["memberships_url"], r["lineitems_url"])
            for r in db.query("SELECT * FROM lti_contexts ORDER BY issuer, context_id")]


def lineitem(db: Database, issuer: str, context_id: str, assignment: str) -> str | None:
    rows = db.query("SELECT url FROM lti_lineitems WHERE issuer = ? AND context_id = ? AND assignment = ?",
                    (issuer, context_id, assignment))
    return rows[0]["url"] if rows else None


def save_lineitem(db: Database, issuer: str, context_id: str, assignment: str, url: str) -> None:
    with db.write() as conn:
        conn.execute("INSERT OR REPLACE INTO lti_lineitems VALUES (?, ?, ?, ?)",
                     (issuer, context_id, assignment, url))


def linked_users(db: Database, issuer: str | None = None) -> list[dict[str, str]]:
    """(issuer, sub, student, status) of every linked LMS user."""
    if issuer is None:
        return db.query("SELECT issuer, sub, student, status FROM lti_users ORDER BY student")
    return db.query("SELECT issuer, sub, student, status FROM lti_users WHERE issuer = ? ORDER BY student",
                    (issuer,))

"""Signing in to the course server in a browser: cookie flags, CSRF, sign-out, one-time links, rate limit."""
from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_course_server import BEFORE_DUE, COURSE_TOML, Served, add_accounts, nnlab
from webclient import Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-session")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield {"root": root, "tokens": tokens, "url": served.url}
    served.stop()


def _flags(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


def test_session_cookie_is_signed_httponly_lax_and_expiring(site: dict[str, Any]) -> None:
    """Does signing in set an HttpOnly, SameSite=Lax, expiring cookie, Secure only behind HTTPS?"""
    browser = Browser(site["url"])
    signed = browser.sign_in(site["tokens"]["ada"])
    assert signed.status == 303 and signed.header("location") == "/"
    [cookie] = [c for c in signed.set_cookies() if c.startswith("nnlab_session=")]
    assert {"httponly", "max-age", "path", "samesite"} <= _flags(cookie) and "secure" not in _flags(cookie)
    assert "samesite=lax" in cookie.lower()
    assert browser.get("/login").status == 303  # signed in: the sign-in page sends you home
    # Behind an HTTPS proxy both cookies are Secure (this client over plain HTTP then keeps them to
    # itself, as a browser would, so the pre-session cookie is sent by hand).
    behind_proxy = Browser(site["url"])
    page = behind_proxy.get("/login", {"X-Forwarded-Proto": "https"})
    [pre] = page.set_cookies()
    assert pre.startswith("nnlab_presession=") and "secure" in _flags(pre)
    answer = behind_proxy.post("/login", {"csrf": page.csrf(), "token": site["tokens"]["ben"]},
                               {"X-Forwarded-Proto": "https", "Cookie": pre.split(";")[0]})
    [cookie] = [c for c in answer.set_cookies() if c.startswith("nnlab_session=")]
    assert "secure" in _flags(cookie)


def test_a_forged_or_tampered_cookie_is_no_session(site: dict[str, Any]) -> None:
    """Is a cookie not signed by the server, or altered, refused?"""
    browser = Browser(site["url"])
    browser.sign_in(site["tokens"]["ada"])
    [cookie] = [c for c in browser.jar if c.name == "nnlab_session"]
    cookie.value = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")
    assert browser.get("/login").status == 200


def test_sign_in_needs_the_forms_csrf_token(site: dict[str, Any]) -> None:
    """Is a sign-in without, or with a wrong, CSRF token refused with no session made?"""
    browser = Browser(site["url"])
    browser.get("/login")
    for form in ({"token": site["tokens"]["ada"]}, {"token": site["tokens"]["ada"], "csrf": "0" * 64}):
        answer = browser.post("/login", form)
        assert answer.status == 403
        assert not [c for c in answer.set_cookies() if c.startswith("nnlab_session=")]
    assert Browser(site["url"]).post("/login", {"token": site["tokens"]["ada"], "csrf": "x"}).status == 403


def test_a_wrong_token_is_refused(site: dict[str, Any]) -> None:
    browser = Browser(site["url"])
    page = browser.get("/login")
    answer = browser.post("/login", {"csrf": page.csrf(), "token": "not-a-token"})
    assert answer.status == 401 and "not valid" in answer.text


def test_sign_out_ends_the_session_on_the_server(site: dict[str, Any]) -> None:
    """Does sign-out need CSRF, and does a copy of the old cookie stop working after it?"""
    browser = Browser(site["url"])
    browser.sign_in(site["tokens"]["cy"])
    [cookie] = [c for c in browser.jar if c.name == "nnlab_session"]
    copy = Browser(site["url"])
    copy.jar.set_cookie(cookie)
    assert copy.get("/login").status == 303
    assert browser.post("/logout", {"csrf": "wrong"}).status == 403
    assert copy.get("/login").status == 303
    csrf = browser.get("/").csrf()
    assert browser.post("/logout", {"csrf": csrf}).status == 303
    assert copy.get("/login").status == 200
    assert browser.get("/login").status == 200


def test_signing_in_again_rotates_the_session(site: dict[str, Any]) -> None:
    """Does a second sign-in on the same browser give a new session id and end the old one?"""
    browser = Browser(site["url"])
    form = {"csrf": browser.get("/login").csrf(), "token": site["tokens"]["dee"]}
    browser.post("/login", form)
    first = next(c.value for c in browser.jar if c.name == "nnlab_session")
    old = Browser(site["url"])
    old.jar.set_cookie(next(c for c in browser.jar if c.name == "nnlab_session"))
    assert browser.post("/login", form).status == 303
    assert next(c.value for c in browser.jar if c.name == "nnlab_session") != first
    assert old.get("/login").status == 200


def test_one_time_links_sign_in_once(site: dict[str, Any]) -> None:
    """Does `nnlab roster --links` write a private file of links, each signing in once only?"""
    root = site["root"]
    out = root / "links.csv"
    made = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"), "--links", str(out),
                 "--url", site["url"])
    assert made.returncode == 0, made.stderr
    assert oct(os.stat(out).st_mode & 0o777) == "0o600"
    links = {row["student"]: row["link"] for row in csv.DictReader(out.open())}
    assert "ada" in links and "instructor" not in links
    path = links["ada"].removeprefix(site["url"])
    browser = Browser(site["url"])
    form = browser.get(path)
    assert form.status == 200 and not [c for c in browser.jar if c.name == "nnlab_session"]  # GET spends nothing
    link = path.rsplit("/", 1)[1]
    used = browser.post("/login/link", {"csrf": form.csrf(), "link": link})
    assert used.status == 303 and [c for c in browser.jar if c.name == "nnlab_session"]
    again = Browser(site["url"])
    form = again.get(path)
    assert again.post("/login/link", {"csrf": form.csrf(), "link": link}).status == 401
    assert (root / "data" / "web-session.key").stat().st_mode & 0o777 == 0o600
    stored = Path(root / "data" / "course.sqlite3").read_bytes()
    assert link.encode() not in stored


def test_zz_failed_sign_ins_are_rate_limited(site: dict[str, Any]) -> None:
    """After many failed sign-ins from one client, is even a right token refused for a while?
    (Runs last: it locks this module's client out.)"""
    browser = Browser(site["url"])
    page = browser.get("/login")
    statuses = [browser.post("/login", {"csrf": page.csrf(), "token": f"guess-{i}"}).status
                for i in range(52)]
    assert statuses[-1] == 429
    assert browser.post("/login", {"csrf": page.csrf(), "token": site["tokens"]["ada"]}).status == 429

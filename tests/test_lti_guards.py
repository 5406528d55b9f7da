"""LTI against real loopback platforms: the key-fetch window, a platform whose keys cannot be had,
the cookies of a launch over HTTPS, and Pending then FullyGraded scores."""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import RSAKey

sys.path.insert(0, str(Path(__file__).parent))
from lti_platform import CLIENT_ID, DEPLOYMENT, LmsPlatform
from test_course_server import BEFORE_DUE, COURSE_TOML, Served, nnlab
from test_lti import Browser, Page, launch, learner

WINDOW_S = 3600
"""The key-fetch window of this module's server: nothing in a test waits it out."""


def _dead_url() -> str:
    """A loopback address where nothing listens: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks"


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Three platforms registered with one course: one well, one whose key set URL is down, one
    whose key set URL answers 500."""
    root = tmp_path_factory.mktemp("lti-guards")
    good, down, broken = LmsPlatform().start(), LmsPlatform().start(), LmsPlatform().start()
    broken.jwks_status = 500
    tables = (good.registration("[[lti]]") + down.registration("[[lti]]", _dead_url())
              + broken.registration("[[lti]]"))
    (root / "course.toml").write_text(COURSE_TOML + "\n" + tables, encoding="utf-8")
    made = nnlab("lti", "keys", "--data", str(root / "data"))
    assert made.returncode == 0, made.stderr
    saved = os.environ.get("NNLAB_LTI_JWKS_REFETCH_S")
    os.environ["NNLAB_LTI_JWKS_REFETCH_S"] = str(WINDOW_S)
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    for platform in (good, down, broken):
        platform.tool_url = served.url
    yield {"root": root, "served": served, "good": good, "down": down, "broken": broken}
    served.stop()
    for platform in (good, down, broken):
        platform.stop()
    if saved is None:
        os.environ.pop("NNLAB_LTI_JWKS_REFETCH_S", None)
    else:
        os.environ["NNLAB_LTI_JWKS_REFETCH_S"] = saved


def _refused(page: Page, status: int, *words: str) -> None:
    assert page.status == status, (page.status, page.text[:800])
    assert page.headers["content-type"].startswith("text/html")
    assert "Traceback" not in page.text
    for word in words:
        assert word in page.text, (word, page.text)


# ---------------------------------------------------------------------- the key-fetch window


def test_unknown_kids_do_not_make_the_server_hammer_the_platform(lms: dict[str, Any]) -> None:
    """Within the window, is a launch naming a kid the cached keys lack refused, saying when to
    try again, without one more request to the platform; and do launches with a known kid still
    pass?"""
    platform, served = lms["good"], lms["served"]
    assert launch(Browser(), served, platform, learner()).status == 303
    fetched = platform.jwks_fetches
    assert fetched >= 1
    for made_up in ("attacker-1", "attacker-2", "attacker-3"):
        forged = RSAKey.generate_key(2048, private=True)
        page = launch(Browser(), served, platform, learner(sign_with=forged, kid=made_up))
        _refused(page, 400, f"key &#39;{made_up}&#39;", f"at most every {WINDOW_S} s")
        assert page.headers.get("retry-after", "").isdigit()
    platform.rotate()  # a real new key, inside the window: refused as well, until it ends
    _refused(launch(Browser(), served, platform, learner()), 400, "&#39;platform-2&#39;", "launch again in")
    assert platform.jwks_fetches == fetched
    first = platform.keys[0]  # the key the cache holds still opens the door
    assert launch(Browser(), served, platform, learner(sign_with=first, kid=first.kid)).status == 303
    assert platform.jwks_fetches == fetched


def test_the_window_ends_and_a_rotated_key_is_fetched(lms: dict[str, Any]) -> None:
    """With a clock moved past the window, is an unknown kid fetched once (the rotation found),
    and before that, not at all? (The server's key cache, on the real platform's JWKS.)"""
    from nnlab.course.lti.launch import LaunchRefused, verify_signature
    from nnlab.course.lti.platform_keys import PlatformKeys
    from nnlab.course.lti.registration import parse_platforms

    platform = LmsPlatform().start()
    try:
        import tomllib

        [registered] = parse_platforms(tomllib.loads(platform.registration()), Path("course.toml"))
        now = [1000.0]
        keys = PlatformKeys(window=lambda: 60.0, clock=lambda: now[0])
        token = platform.id_token(learner(), "n-1")
        assert verify_signature(token, registered, keys)["sub"] == "u-ada"
        assert platform.jwks_fetches == 1
        platform.rotate()
        rotated = platform.id_token(learner(), "n-2")
        for step in (10.0, 49.0):  # 59 s after the fetch: still inside
            now[0] += step
            with pytest.raises(LaunchRefused, match="launch again in"):
                verify_signature(rotated, registered, keys)
        assert platform.jwks_fetches == 1
        now[0] += 1.0  # 60 s: the window is over
        assert verify_signature(rotated, registered, keys)["sub"] == "u-ada"
        assert platform.jwks_fetches == 2
        assert verify_signature(rotated, registered, keys)["sub"] == "u-ada"
        assert verify_signature(token, registered, keys)["sub"] == "u-ada"  # the old key is still published
        assert platform.jwks_fetches == 2
    finally:
        platform.stop()


# ---------------------------------------------------------------------- keys that cannot be had


def test_an_unreachable_key_set_is_a_clear_503(lms: dict[str, Any]) -> None:
    """Is a launch from a platform whose key set URL refuses connections a 503 page naming the
    platform and what failed, with when nnlab asks again?"""
    platform = lms["down"]
    page = launch(Browser(), lms["served"], platform, learner("u-down"))
    _refused(page, 503, "could not check the LMS launch", platform.issuer, "could not be reached",
             "asks it again in")
    assert page.headers.get("retry-after", "").isdigit()
    _refused(launch(Browser(), lms["served"], platform, learner("u-down")), 503, platform.issuer)


def test_a_key_set_answering_an_error_is_a_clear_502_asked_once(lms: dict[str, Any]) -> None:
    """Is a key set URL that answers 500 a 502 page naming the platform and the answer; and is the
    next launch within the window refused without asking the failing platform again?"""
    platform = lms["broken"]
    page = launch(Browser(), lms["served"], platform, learner("u-broken"))
    _refused(page, 502, platform.issuer, "answered 500")
    asked = platform.jwks_fetches
    assert asked == 1
    _refused(launch(Browser(), lms["served"], platform, learner("u-broken")), 502, "answered 500")
    assert platform.jwks_fetches == asked


@pytest.mark.parametrize("body, words", [
    ({"keys": []}, "non-empty &#39;keys&#39; list"),
    ([{"kty": "RSA"}], "not a JWKS"),
    ({"keys": [{"kty": "RSA", "kid": "k"}]}, "cannot be read"),
])
def test_a_key_set_that_is_not_one_is_named(body: Any, words: str) -> None:
    """Is an answer that is not a usable JWKS a ValueError saying so (a 502 page), never a crash?"""
    from nnlab.course.lti.platform_keys import parse_jwks

    with pytest.raises(ValueError) as caught:
        parse_jwks(body)
    assert words.replace("&#39;", "'") in str(caught.value)
    good = {"keys": [RSAKey.generate_key(2048, private=True, parameters={"kid": "k"}).as_dict(private=False)]}
    assert [k.kid for k in parse_jwks(good).keys] == ["k"]


# ---------------------------------------------------------------------- cookies


@dataclass(frozen=True)
class Raw:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    """Each Set-Cookie header by cookie name, as sent."""


def _raw(url: str, form: dict[str, str], headers: dict[str, str]) -> Raw:
    """One POST, no redirect followed, every Set-Cookie header kept apart."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers)
    try:
        answer = urllib.request.build_opener(NoRedirect()).open(request, timeout=60)
    except urllib.error.HTTPError as error:
        answer = error
    set_cookies = answer.headers.get_all("Set-Cookie") or []
    cookies: dict[str, str] = {}
    for line in set_cookies:
        name = line.split("=", 1)[0]
        assert name not in cookies, f"{name} is set twice: {set_cookies}"
        cookies[name] = line
    return Raw(answer.status, dict(answer.headers), cookies)


def _flags(line: str) -> set[str]:
    return {part.strip().lower() for part in line.split(";")[1:]}


def _login_and_launch(lms: dict[str, Any], headers: dict[str, str]) -> tuple[Raw, Raw]:
    """The login and the launch, as a browser behind `headers` would send them (the id_token
    made by the platform for the nonce the tool's redirect asked for)."""
    platform, served = lms["good"], lms["served"]
    first = platform.keys[0]  # the key fetched first, whichever test rotated since
    hint = platform.expect(learner("u-cookie", sign_with=first, kid=first.kid))
    login = _raw(served.url + "/lti/login", {"iss": platform.issuer, "login_hint": hint, "client_id": CLIENT_ID,
                                            "lti_deployment_id": DEPLOYMENT}, headers)
    assert login.status == 302, login
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(login.headers["location"]).query))
    token = platform.id_token(platform.launches[hint], query["nonce"])
    state = login.cookies["nnlab_lti_state"].split(";")[0]
    done = _raw(served.url + "/lti/launch", {"id_token": token, "state": query["state"]},
                {**headers, "Cookie": state})
    assert done.status == 303, done
    return login, done


def test_cookies_over_https_are_third_party_cookies(lms: dict[str, Any]) -> None:
    """Behind an HTTPS proxy, are the login state and the session cookie SameSite=None; Secure;
    Partitioned (the LMS frames the tool), set once each; and over plain HTTP Lax, not Secure?"""
    login, done = _login_and_launch(lms, {"X-Forwarded-Proto": "https"})
    for line in (login.cookies["nnlab_lti_state"], done.cookies["nnlab_session"]):
        assert {"secure", "samesite=none", "partitioned", "httponly"} <= _flags(line), line
    assert "max-age=0" in _flags(done.cookies["nnlab_lti_state"])  # used up, cleared with the same flags
    assert {"secure", "samesite=none", "partitioned"} <= _flags(done.cookies["nnlab_lti_state"])

    login, done = _login_and_launch(lms, {})
    for line in (login.cookies["nnlab_lti_state"], done.cookies["nnlab_session"]):
        flags = _flags(line)
        assert "samesite=lax" in flags and "httponly" in flags, line
        assert not {"secure", "partitioned", "samesite=none"} & flags, line


def test_an_https_public_url_makes_the_cookies_secure_behind_any_proxy() -> None:
    """Does a registered https tool_url make the cookies third-party ones even when the request
    arrived as plain HTTP (a proxy that says nothing), and an http one or none not?"""
    from starlette.requests import Request

    from nnlab.course.lti.registration import Platform
    from nnlab.course.lti.router import _secure, cookie_flags

    def request(scheme: str, headers: list[tuple[bytes, bytes]]) -> Request:
        return Request({"type": "http", "scheme": scheme, "method": "GET", "path": "/lti/login",
                        "headers": headers, "query_string": b"", "server": ("nnlab", 80)})

    base = Platform("https://lms", "1", ("d",), "https://lms/a", "https://lms/t", "https://lms/k")
    https_url = dataclasses.replace(base, tool_url="https://nnlab.example.edu")
    http_url = dataclasses.replace(base, tool_url="http://nnlab.example.edu")
    assert _secure(request("http", []), https_url)
    assert _secure(request("https", []), base)
    assert _secure(request("http", [(b"x-forwarded-proto", b"https")]), base)
    assert not _secure(request("http", []), base)
    assert not _secure(request("http", []), http_url)
    assert cookie_flags(True) == {"httponly": True, "secure": True, "samesite": "none", "partitioned": True}
    assert cookie_flags(False)["samesite"] == "lax" and not cookie_flags(False)["secure"]


# ---------------------------------------------------------------------- Pending, then the score


@pytest.fixture
def passback(tmp_path: Path) -> Any:
    """An outbox on its own database, sending to a real platform (which checks its signed client
    assertions against the tool's public key), with one linked LMS user in one LMS course."""
    import tomllib

    from nnlab.course.config import parse_course
    from nnlab.course.db import Database
    from nnlab.course.lti import outbox, store
    from nnlab.course.lti.keys import load_key, make_key, public_jwks
    from nnlab.course.lti.registration import parse_platforms
    from nnlab.course.lti.services import Services

    platform = LmsPlatform().start()
    text = COURSE_TOML + platform.registration()
    course = parse_course(text, tmp_path / "course.toml", {"leaky_relu", "my_linear"})
    platforms = parse_platforms(tomllib.loads(text), tmp_path / "course.toml")
    make_key(tmp_path / "data")
    key = load_key(tmp_path / "data")
    platform.tool_jwks = public_jwks(key)
    db = Database(tmp_path / "data")
    store.install(db)
    outbox.install(db)
    store.save_context(db, store.Context(platform.issuer, "course-42", CLIENT_ID, DEPLOYMENT, "DL", "",
                                         platform.url + "/api/lti/courses/42/line_items"))
    for sub in ("u-ada", "u-ben"):  # accounts "ada", "ben": their e-mail's local part, to keep it short
        store.link_user(db, store.LmsUser(platform.issuer, sub, sub[2:], sub[2:], "student"))
    box = outbox.Outbox(db, course, platforms, lambda p: Services(p, key))
    yield {"platform": platform, "db": db, "box": box, "course": course}
    platform.stop()


def _upload(db: Any, student: str, number: int) -> dict[str, Any]:
    from nnlab.course.db import NewSubmission

    db.accept(NewSubmission(f"{student}-{number}", student, "hw1", dt.datetime.now(dt.timezone.utc), 0,
                            "[]", 1), 0)
    [row] = [r for r in db.submissions(student, "hw1") if r["id"] == f"{student}-{number}"]
    return row


def _grade(db: Any, course: Any, row: dict[str, Any], fraction: float | None) -> None:
    """Grades `row` as the worker would: every exercise at `fraction` of its points (None: the
    grading failed)."""
    import json

    from nnlab.course import gradebook
    from nnlab.results import CheckResult, Outcome, Visibility, record_json

    claimed = db.claim_next()
    assert claimed is not None and claimed["id"] == row["id"]
    if fraction is None:
        assert db.finish(row["seq"], "error", None, None, None, "the worker crashed")
        return
    blank = gradebook.not_submitted(row["student"], course.assignment("hw1"))
    exercises = tuple(dataclasses.replace(e, submitted=True, note="", checks=(CheckResult(
        "works", "test_works", e.max_score * fraction, e.max_score, Outcome.PASSED, Visibility.VISIBLE, ""),))
        for e in blank.exercises)
    result = dataclasses.replace(blank, exercises=exercises)
    assert db.finish(row["seq"], "done", json.dumps(record_json(result)), result.score, result.max_score)


def _round(box: Any) -> None:
    box.sweep()
    box.deliver()


def _seconds(stamp: str) -> int:
    return int(dt.datetime.fromisoformat(stamp).timestamp())


def test_a_first_upload_is_pending_then_fully_graded(passback: dict[str, Any]) -> None:
    """While a student's first upload waits and is graded, does the LMS get Submitted/Pending
    with no score (once, not at every round), then Completed/FullyGraded with the counted score,
    stamped a whole second later so that a platform comparing seconds takes it?"""
    platform, db, box, course = passback["platform"], passback["db"], passback["box"], passback["course"]
    row = _upload(db, "ada", 1)
    _round(box)
    [pending] = platform.scores
    assert (pending["userId"], pending["activityProgress"], pending["gradingProgress"]) == \
        ("u-ada", "Submitted", "Pending")
    assert "scoreGiven" not in pending and "scoreMaximum" not in pending
    [item] = platform.lineitems
    assert (item["resourceId"], item["scoreMaximum"]) == ("hw1", 20.0)  # leaky_relu's and my_linear's points
    _round(box)
    assert len(platform.scores) == 1  # announced once
    _grade(db, course, row, 0.75)
    _round(box)
    [_, graded] = platform.scores
    assert (graded["gradingProgress"], graded["activityProgress"], graded["scoreGiven"],
            graded["scoreMaximum"]) == ("FullyGraded", "Completed", 15.0, 20.0)
    assert _seconds(graded["timestamp"]) > _seconds(pending["timestamp"])
    assert not platform.refused_scores


def test_a_resubmission_sends_no_pending_that_would_blank_the_grade(passback: dict[str, Any]) -> None:
    """Once the LMS holds a score of ours, does a new upload send nothing until it changes the
    counted score (a Pending without a score would clear it in Moodle); and does a first upload
    whose grading fails become Failed, then Pending again when it is graded again?"""
    platform, db, box, course = passback["platform"], passback["db"], passback["box"], passback["course"]
    _grade(db, course, _upload(db, "ada", 1), 1.0)
    _round(box)
    assert [s["gradingProgress"] for s in platform.scores] == ["FullyGraded"]
    _upload(db, "ada", 2)
    _round(box)
    assert [s["gradingProgress"] for s in platform.scores] == ["FullyGraded"]

    ben = _upload(db, "ben", 1)
    _round(box)
    _grade(db, course, ben, None)
    _round(box)
    bens = [s for s in platform.scores if s["userId"] == "u-ben"]
    assert [s["gradingProgress"] for s in bens] == ["Pending", "Failed"]
    assert all("scoreGiven" not in s for s in bens)
    assert _seconds(bens[1]["timestamp"]) > _seconds(bens[0]["timestamp"])
    assert not platform.refused_scores


def test_a_pending_not_yet_sent_gives_way_to_the_score(passback: dict[str, Any]) -> None:
    """If the grade is in before the Pending went out, is only the score sent?"""
    platform, db, box, course = passback["platform"], passback["db"], passback["box"], passback["course"]
    row = _upload(db, "ada", 1)
    box.sweep()
    _grade(db, course, row, 0.5)
    _round(box)
    assert [(s["gradingProgress"], s.get("scoreGiven")) for s in platform.scores] == [("FullyGraded", 10.0)]


def test_stamps_queued_in_one_second_are_spread(tmp_path: Path) -> None:
    """Does a score queued in the same second as the last one for that user get the next second,
    and one queued later keep its own stamp?"""
    from nnlab.course.db import Database
    from nnlab.course.lti import outbox

    db = Database(tmp_path / "data")
    outbox.install(db)
    target = outbox.Target("https://lms", "c1", "u1", "ada")
    first = "2026-12-06T10:00:00.100+00:00"
    outbox._queue_one(db, target, "hw1", 1.0, 2.0, first, False)
    outbox._queue_one(db, target, "hw1", 2.0, 2.0, "2026-12-06T10:00:00.900+00:00", False)
    outbox._queue_one(db, target, "hw1", 1.5, 2.0, "2026-12-06T10:00:05.000+00:00", False)
    outbox._queue_one(db, outbox.Target("https://lms", "c1", "u2", "ben"), "hw1", 1.0, 2.0, first, False)
    stamps = [r["stamp"] for r in db.query("SELECT stamp FROM lti_outbox ORDER BY seq")]
    assert stamps == [first, "2026-12-06T10:00:01.000+00:00", "2026-12-06T10:00:05.000+00:00", first]


def test_an_outbox_made_before_progress_gains_the_column(tmp_path: Path) -> None:
    """Does a course database whose outbox predates gradingProgress keep its rows, read as scores?"""
    import sqlite3

    from nnlab.course.db import Database
    from nnlab.course.lti import outbox

    db = Database(tmp_path / "data")
    with sqlite3.connect(db.path) as conn:
        conn.executescript(
            "CREATE TABLE lti_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, issuer TEXT NOT NULL, "
            "context_id TEXT NOT NULL, assignment TEXT NOT NULL, sub TEXT NOT NULL, student TEXT NOT NULL, "
            "score REAL NOT NULL, max_score REAL NOT NULL, stamp TEXT NOT NULL, status TEXT NOT NULL "
            "DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0, "
            "last_error TEXT NOT NULL DEFAULT '', sent_at TEXT);"
            "INSERT INTO lti_outbox (issuer, context_id, assignment, sub, student, score, max_score, stamp) "
            "VALUES ('https://lms', 'c1', 'hw1', 'u1', 'ada', 1.0, 2.0, '2026-12-06T10:00:00.000+00:00');")
    outbox.install(db)
    outbox.install(db)  # twice: the second finds the column
    [old] = outbox.due(db, time.time())
    assert old.progress == "FullyGraded" and old.to_json()["scoreGiven"] == 1.0


def test_a_score_the_lms_refuses_as_stale_is_not_sent_for_ever(passback: dict[str, Any]) -> None:
    """The LMS holds a later score (an instructor edited the grade there): it answers 409. Is the
    row marked refused with the LMS's reason, left out of later rounds, while another student's
    score still goes; and does the next change of the counted score go out with its own stamp?"""
    platform, db, box, course = passback["platform"], passback["db"], passback["box"], passback["course"]
    _grade(db, course, _upload(db, "ben", 1), 1.0)
    _grade(db, course, _upload(db, "ada", 1), 0.5)
    lineitem = "/api/lti/courses/42/line_items/1"
    platform.last_stamp[(lineitem, "u-ada")] = 2**40  # far in the future: every stamp of ours is older
    _round(box)
    assert [s["userId"] for s in platform.scores] == ["u-ben"]
    assert [status for status, _ in platform.refused_scores] == [409]
    [ada] = db.query("SELECT status, attempts, last_error FROM lti_outbox WHERE sub = 'u-ada'")
    assert (ada["status"], ada["attempts"]) == ("refused", 1) and "409" in ada["last_error"], ada
    _round(box)
    _round(box)
    assert len(platform.refused_scores) == 1, "a refused score must not be sent again"
    del platform.last_stamp[(lineitem, "u-ada")]
    _grade(db, course, _upload(db, "ada", 2), 1.0)  # a better upload: the counted score changes
    _round(box)
    assert [(s["userId"], s.get("scoreGiven")) for s in platform.scores][-1] == ("u-ada", 20.0)

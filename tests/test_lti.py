"""LTI 1.3 against a real platform on loopback (tests/lti_platform.py): launch, refusals, grades, roster."""
from __future__ import annotations

import http.cookiejar
import os
import signal
import sqlite3
import stat
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
from lti_platform import (CLAIM, CLIENT_ID, DEPLOYMENT, INSTRUCTOR, LEARNER, LmsPlatform,
                          PendingLaunch, parse_form)
from test_course_server import (BEFORE_DUE, COURSE_TOML, SOLUTION, Served, call, nnlab,
                                upload, wait_graded)

from nnlab.course.lti.registration import parse_platforms
from nnlab.errors import UsageError


# ---------------------------------------------------------------------- registration and keys


def test_lti_tables_parse_and_mistakes_name_the_key(tmp_path: Path) -> None:
    """Is [lti] (and [[lti]]) read into registrations, with one clear error per mistake?"""
    platform = LmsPlatform()
    import tomllib

    data = tomllib.loads(platform.registration())
    [one] = parse_platforms(data, Path("course.toml"))
    assert (one.issuer, one.client_id, one.deployment_ids) == (platform.issuer, CLIENT_ID, (DEPLOYMENT,))
    two = parse_platforms({"lti": [data["lti"], {**data["lti"], "client_id": "2"}]}, Path("c.toml"))
    assert [p.client_id for p in two] == [CLIENT_ID, "2"]
    for change, message in ((("client_id", ""), "'client_id' is missing"),
                            (("deployment_ids", "1:abc"), "'deployment_ids' must be a non-empty list"),
                            (("key_set_url", "ftp://x"), "'key_set_url' must be an http(s) URL"),
                            (("colour", "red"), "unknown key(s) colour")):
        with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_platforms({"lti": {**data["lti"], change[0]: change[1]}}, Path("course.toml"))
    platform.http.server_close()


def test_lti_keys_makes_a_private_key_once_and_prints_the_urls(tmp_path: Path) -> None:
    """Does `nnlab lti keys` make a 0600 key pair once and print the three URLs for the LMS?"""
    made = nnlab("lti", "keys", "--data", str(tmp_path / "data"), "--url", "https://nnlab.example.edu/")
    assert made.returncode == 0, made.stderr
    key_file = tmp_path / "data" / "lti-tool-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for path in ("/lti/login", "/lti/launch", "/lti/jwks"):
        assert f"https://nnlab.example.edu{path}" in made.stdout
    before = key_file.read_bytes()
    again = nnlab("lti", "keys", "--data", str(tmp_path / "data"))
    assert again.returncode == 0 and "already there" in again.stdout
    assert key_file.read_bytes() == before


# ---------------------------------------------------------------------- a browser


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass(frozen=True)
class Page:
    status: int
    headers: dict[str, str]
    text: str


class Browser:
    """Cookies kept, redirects not followed: each step of the flow is seen."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def open(self, url: str, form: dict[str, str] | None = None) -> Page:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(url, data=data, method="POST" if form is not None else "GET")
        try:
            with self.opener.open(request, timeout=60) as answer:
                return Page(answer.status, dict(answer.headers), answer.read().decode())
        except urllib.error.HTTPError as error:
            return Page(error.code, dict(error.headers), error.read().decode())

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def set_cookie(self, name: str, value: str) -> None:
        for cookie in list(self.jar):
            if cookie.name == name:
                cookie.value = value


def start_login(browser: Browser, served: Served, platform: LmsPlatform, launch: PendingLaunch) -> Page:
    """The platform's login initiation (a form post from the browser, as Canvas does); the tool's
    redirect followed to the platform, whose answer is the auto-posting id_token form."""
    hint = platform.expect(launch)
    redirect = browser.open(served.url + "/lti/login", {
        "iss": platform.issuer, "login_hint": hint, "target_link_uri": served.url + "/lti/launch",
        "lti_message_hint": "m-" + hint, "client_id": CLIENT_ID, "lti_deployment_id": DEPLOYMENT})
    assert redirect.status == 302, redirect.text
    location = redirect.headers["location"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    assert location.startswith(platform.url + "/api/lti/authorize_redirect?")
    assert query["lti_message_hint"] == "m-" + hint and query["login_hint"] == hint
    return browser.open(location)


def launch(browser: Browser, served: Served, platform: LmsPlatform, launch: PendingLaunch) -> Page:
    page = start_login(browser, served, platform, launch)
    assert page.status == 200, page.text
    action, fields = parse_form(page.text)
    return browser.open(action, fields)


def learner(sub: str = "u-ada", **kwargs: Any) -> PendingLaunch:
    return PendingLaunch(sub, "Ada Lovelace", "ada@uni.edu", [LEARNER], {"assignment": "hw1"}, **kwargs)


# ---------------------------------------------------------------------- the server


@pytest.fixture(scope="module")
def lms(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A platform, a course registered with it, the tool's keys, and the server."""
    from nnlab.course.accounts import new_token
    from nnlab.course.db import Database

    root = tmp_path_factory.mktemp("lti")
    platform = LmsPlatform().start()
    (root / "course.toml").write_text(COURSE_TOML + "\n" + platform.registration(), encoding="utf-8")
    keys = nnlab("lti", "keys", "--data", str(root / "data"))
    assert keys.returncode == 0, keys.stderr
    [(_, _, instructor)] = Database(root / "data").add_accounts([], new_token)
    # Retries every second here, not every 5 minutes; the platform's keys are fetched again at
    # every unknown kid (the window that limits that has its own server in test_lti_guards.py).
    hooks = {"NNLAB_LTI_RETRY_CAP_S": "1", "NNLAB_LTI_JWKS_REFETCH_S": "0"}
    saved = {name: os.environ.get(name) for name in hooks}
    os.environ.update(hooks)
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    platform.tool_url = served.url
    state = {"root": root, "platform": platform, "served": served, "instructor": instructor}
    yield state
    state["served"].stop()
    platform.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def accounts(root: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(root / "data" / "course.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT a.student, a.role, a.name, u.sub, u.status FROM lti_users AS u "
                            "JOIN accounts AS a ON a.student = u.student").fetchall()
    return {r["sub"]: dict(r) for r in rows}


def test_jwks_serves_the_public_key_only(lms: dict[str, Any]) -> None:
    """Does /lti/jwks publish the tool's public key, and nothing private?"""
    status, _, body = call(lms["served"].url, "GET", "/lti/jwks", None)
    assert status == 200
    [key] = body["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and "d" not in key and "p" not in key
    private = RSAKey.import_key((lms["root"] / "data" / "lti-tool-key.pem").read_bytes())
    assert key["n"] == private.as_dict(private=False)["n"]


def test_learner_launch_signs_in_and_opens_the_assignment(lms: dict[str, Any]) -> None:
    """Does a Learner's launch make a student account (matched by sub), sign the browser in and
    land on the assignment the resource link names?"""
    browser = Browser()
    done = launch(browser, lms["served"], lms["platform"], learner())
    assert done.status == 303, done.text
    assert done.headers["location"] == "/assignments/hw1"
    assert browser.cookie("nnlab_session")
    made = accounts(lms["root"])["u-ada"]
    assert (made["role"], made["name"], made["student"]) == ("student", "Ada Lovelace", "ada@uni.edu")
    page = browser.open(lms["served"].url + done.headers["location"])  # signed in as that account
    assert page.status == 200 and "ada@uni.edu" in page.text and "hw1" in page.text
    again = launch(Browser(), lms["served"], lms["platform"], learner())
    assert again.status == 303 and len([s for s in accounts(lms["root"]) if s == "u-ada"]) == 1


@pytest.mark.slow
@pytest.mark.skipif(not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()),
                    reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)")
def test_a_real_browser_goes_from_the_lms_to_the_assignment(lms: dict[str, Any]) -> None:
    """In headless Chromium: the LMS page posts the login, the redirects and the auto-posted
    id_token run as a browser runs them (its cookie rules included), ending signed in on hw1."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.set_page_load_timeout(60)
        hint = lms["platform"].expect(PendingLaunch("u-chrome", "Cy Chrome", "cy@uni.edu", [LEARNER],
                                                    {"assignment": "hw1"}))
        driver.get(f"{lms['platform'].url}/courses/42/external_tools/{hint}")
        WebDriverWait(driver, 60).until(lambda d: d.current_url.endswith("/assignments/hw1"))
        assert "cy@uni.edu" in driver.page_source
    finally:
        driver.quit()


def test_instructor_launch_makes_an_instructor(lms: dict[str, Any]) -> None:
    """Does an Instructor role become an instructor account, which reads instructor-only pages?"""
    browser = Browser()
    teacher = PendingLaunch("u-prof", "Prof Turing", "turing@uni.edu", [INSTRUCTOR], {})
    done = launch(browser, lms["served"], lms["platform"], teacher)
    assert done.status == 303 and done.headers["location"] == "/instructor"
    assert accounts(lms["root"])["u-prof"]["role"] == "instructor"
    assert browser.open(lms["served"].url + "/instructor").status == 200


def _refused(page: Page, words: str) -> None:
    assert 400 <= page.status < 500, (page.status, page.text[:500])
    assert page.headers["content-type"].startswith("text/html")
    assert words in page.text, page.text


REFUSALS = {
    "wrong issuer": ({"iss": "https://evil.example"}, "issuer"),
    "wrong audience": ({"aud": "someone-else", "azp": "someone-else"}, "not this tool&#39;s client id"),
    "audience list without azp": ({"aud": [CLIENT_ID, "other"], "azp": "other"}, "authorized party"),
    "expired": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700}, "has expired"),
    "unknown deployment": ({CLAIM + "deployment_id": "9:zzz"}, "deployment &#39;9:zzz&#39; is not registered"),
    "wrong message type": ({CLAIM + "message_type": "LtiDeepLinkingRequest"}, "message type"),
    "wrong version": ({CLAIM + "version": "1.1"}, "LTI version"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_each_wrong_claim_is_refused_with_a_page_that_says_why(lms: dict[str, Any], case: str) -> None:
    """Is a launch whose token is signed right but says the wrong thing refused, saying what?"""
    overrides, words = REFUSALS[case]
    if case == "expired":  # computed now, not at import
        overrides = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 3700}
    page = launch(Browser(), lms["served"], lms["platform"], learner(f"u-{case}", overrides=overrides))
    _refused(page, words)
    assert f"u-{case}" not in accounts(lms["root"])


def test_a_bad_signature_is_refused(lms: dict[str, Any]) -> None:
    """Is a token signed by a key the platform does not hold refused, even naming the platform's kid?"""
    forged = RSAKey.generate_key(2048, private=True)
    page = launch(Browser(), lms["served"], lms["platform"], learner("u-forged", sign_with=forged))
    _refused(page, "signature does not match")
    assert "u-forged" not in accounts(lms["root"])


def test_a_replayed_id_token_is_refused(lms: dict[str, Any]) -> None:
    """Is an id_token that was accepted once refused when posted again, with a fresh login state?"""
    browser, served, platform = Browser(), lms["served"], lms["platform"]
    assert launch(browser, served, platform, learner()).status == 303
    used = platform.id_tokens[-1]
    fresh = start_login(browser, served, platform, learner())
    action, fields = parse_form(fresh.text)
    _refused(browser.open(action, {**fields, "id_token": used}), "was used before")
    # The very same form posted twice: its state is used up too.
    first = start_login(browser, served, platform, learner())
    action, fields = parse_form(first.text)
    assert browser.open(action, fields).status == 303
    _refused(browser.open(action, fields), "state")


def test_a_launch_from_another_browser_is_refused(lms: dict[str, Any]) -> None:
    """Is a launch refused when its state is not the one bound to this browser's cookie (login CSRF)?"""
    victim, served, platform = Browser(), lms["served"], lms["platform"]
    page = start_login(victim, served, platform, learner())
    action, fields = parse_form(page.text)
    _refused(Browser().open(action, fields), "does not belong to this browser")
    _refused(victim.open(action, {"id_token": fields["id_token"]}), "lacks &#39;id_token&#39; or &#39;state&#39;")
    victim.set_cookie("nnlab_lti_state", "someone-elses-state")
    _refused(victim.open(action, fields), "does not belong to this browser")


def test_an_unknown_kid_fetches_the_platform_keys_again(lms: dict[str, Any]) -> None:
    """After the platform rotates its key, is its JWKS fetched again and the launch accepted?"""
    platform = lms["platform"]
    assert launch(Browser(), lms["served"], platform, learner()).status == 303
    fetched = platform.jwks_fetches
    platform.rotate()
    assert launch(Browser(), lms["served"], platform, learner()).status == 303
    assert platform.jwks_fetches == fetched + 1
    assert launch(Browser(), lms["served"], platform, learner()).status == 303
    assert platform.jwks_fetches == fetched + 1  # cached again


# ---------------------------------------------------------------------- grades (AGS)


def _lti_student_token(lms: dict[str, Any], sub: str) -> tuple[str, str]:
    """(student, token): the launched LMS user's account, given an API token here so the test can
    upload through the API (LTI users sign in through the LMS and are never shown one)."""
    from nnlab.course.accounts import new_token
    from nnlab.course.db import Database

    student = accounts(lms["root"])[sub]["student"]
    token = new_token()
    assert Database(lms["root"] / "data").set_token(student, token)
    return student, token


def _counted(lms: dict[str, Any], student: str) -> tuple[float, float]:
    status, _, results = call(lms["served"].url, "GET", "/api/v1/assignments/hw1/results", lms["instructor"])
    assert status == 200, results
    [mine] = [r for r in results if r["student"] == student]
    return mine["score"], mine["max_score"]


def _score_reaching(platform: LmsPlatform, sub: str, score: float, limit: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        sent = [s for s in platform.scores
                if s["userId"] == sub and "scoreGiven" in s and abs(s["scoreGiven"] - score) < 1e-6]
        if sent:
            return sent[-1]
        time.sleep(0.3)
    raise AssertionError(f"no score {score} for {sub} reached the platform: {platform.scores}")


def _adjust(lms: dict[str, Any], student: str, delta: float, reason: str) -> None:
    status, _, body = call(lms["served"].url, "POST", "/api/v1/assignments/hw1/adjustments", lms["instructor"],
                           {"student": student, "exercise": "leaky_relu", "delta": delta, "reason": reason})
    assert status == 201, body


@pytest.mark.slow
def test_scores_reach_the_lms_and_survive_an_outage_and_a_kill(lms: dict[str, Any]) -> None:
    """Is the counted score (the gradebook's number) posted to a line item made for the assignment;
    is a changed score posted again; and does a score queued while the platform is down reach it
    after the server was killed with -9 and restarted?"""
    platform, served = lms["platform"], lms["served"]
    bea = PendingLaunch("u-bea", "Bea Ng", "bea@uni.edu", [LEARNER], {"assignment": "hw1"})
    assert launch(Browser(), served, platform, bea).status == 303
    student, token = _lti_student_token(lms, "u-bea")
    status, _, accepted = call(served.url, "POST", "/api/v1/submissions", token, upload(SOLUTION))
    assert status == 202, accepted
    [graded] = wait_graded(served, token, [accepted["id"]])
    assert graded["status"] == "done"
    score, maximum = _counted(lms, student)
    sent = _score_reaching(platform, "u-bea", score)
    assert (sent["scoreMaximum"], sent["activityProgress"], sent["gradingProgress"]) == \
        (maximum, "Completed", "FullyGraded")
    [item] = [i for i in platform.lineitems if i["resourceId"] == "hw1"]
    assert sent["lineitem"] == urllib.parse.urlsplit(item["id"]).path and item["scoreMaximum"] == maximum

    _adjust(lms, student, -1.0, "style")  # the gradebook changes: the LMS hears the new number
    _score_reaching(platform, "u-bea", _counted(lms, student)[0])

    platform.down = True
    _adjust(lms, student, -1.0, "late README")
    final = _counted(lms, student)[0]
    deadline = time.monotonic() + 60
    while platform.failed_scores < 2:
        assert time.monotonic() < deadline, "the outbox never tried the platform while it was down"
        time.sleep(0.2)
    served.stop(signal.SIGKILL)
    lms["served"] = served = Served(lms["root"] / "course.toml", lms["root"] / "data", BEFORE_DUE)
    platform.tool_url = served.url
    platform.down = False
    _score_reaching(platform, "u-bea", final)
    graded = [s for s in platform.scores if s["userId"] == "u-bea" and s["gradingProgress"] == "FullyGraded"]
    assert len(graded) == 3  # nothing sent twice
    # A Pending, if the outbox saw the upload before its grade, went first and carried no score.
    early = [s for s in platform.scores if s["userId"] == "u-bea" and s["gradingProgress"] != "FullyGraded"]
    assert all(s["gradingProgress"] == "Pending" and "scoreGiven" not in s for s in early)
    assert platform.scores.index(graded[0]) > max((platform.scores.index(s) for s in early), default=-1)
    assert not platform.refused_scores


@pytest.mark.slow
def test_lti_sync_sends_every_score_again(lms: dict[str, Any], tmp_path: Path) -> None:
    """Does `nnlab lti sync --assignment hw1` (instructor token) queue every counted score again?"""
    platform, served = lms["platform"], lms["served"]
    if not platform.scores:
        pytest.skip("needs the score test's graded submission")
    before = len(platform.scores)
    env = {"NNLAB_SERVER": served.url, "NNLAB_TOKEN": lms["instructor"]}
    synced = nnlab("lti", "sync", "--assignment", "hw1", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "queued" in synced.stdout
    deadline = time.monotonic() + 60
    while len(platform.scores) == before:
        assert time.monotonic() < deadline, "nothing was sent again"
        time.sleep(0.3)
    refused = nnlab("lti", "sync", "--assignment", "nope", env=env)
    assert refused.returncode == 2 and "nope" in refused.stderr


# ---------------------------------------------------------------------- roster (NRPS)


def test_roster_pull_makes_accounts_and_marks_who_left(lms: dict[str, Any]) -> None:
    """Does `nnlab roster --lti` bring every member in (names, roles), and mark a linked user who is
    no longer a member, or is listed as inactive, as left without deleting the account?"""
    platform, root = lms["platform"], lms["root"]
    assert launch(Browser(), lms["served"], platform, learner("u-gone")).status == 303
    platform.members = [
        {"user_id": "u-ada", "name": "Ada Lovelace", "email": "ada@uni.edu", "status": "Active",
         "roles": [LEARNER]},
        {"user_id": "u-cy", "name": "Cy Young", "email": "cy@uni.edu", "status": "Active", "roles": [LEARNER]},
        {"user_id": "u-ta", "given_name": "Tess", "family_name": "Ta", "status": "Active",
         "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"]},
        {"user_id": "u-dropped", "name": "Dee Dropped", "status": "Inactive", "roles": [LEARNER]},
    ]
    pulled = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"), "--lti")
    assert pulled.returncode == 0, pulled.stderr
    known = accounts(root)
    assert (known["u-cy"]["name"], known["u-cy"]["role"], known["u-cy"]["status"]) == \
        ("Cy Young", "student", "active")
    assert (known["u-ta"]["name"], known["u-ta"]["role"]) == ("Tess Ta", "instructor")
    assert known["u-gone"]["status"] == "left" and "u-dropped" not in known
    assert "left" in pulled.stdout and known["u-gone"]["student"] in pulled.stdout


def test_service_urls_keep_the_platforms_query_and_follow_next_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Moodle's line item URLs carry a query: is /scores put after the path, the query kept; is an
    NRPS Link header's next page found; do retries wait longer each time, up to the cap?"""
    from nnlab.course.lti.calls import next_link
    from nnlab.course.lti.outbox import backoff
    from nnlab.course.lti.services import scores_url, with_query

    moodle = "https://m.edu/mod/lti/services.php/2/lineitems/5/lineitem?type_id=1"
    assert scores_url(moodle) == "https://m.edu/mod/lti/services.php/2/lineitems/5/lineitem/scores?type_id=1"
    assert scores_url("https://c.edu/api/lti/courses/1/line_items/3") == \
        "https://c.edu/api/lti/courses/1/line_items/3/scores"
    assert with_query("https://m.edu/x?type_id=1", resource_id="hw1") == "https://m.edu/x?type_id=1&resource_id=hw1"
    link = '<https://c.edu/m?page=1>; rel="first", <https://c.edu/m?page=3>; rel="next"'
    assert next_link(link) == "https://c.edu/m?page=3" and next_link('<https://c.edu/m>; rel="last"') is None
    monkeypatch.delenv("NNLAB_LTI_RETRY_CAP_S", raising=False)
    assert [backoff(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0] and backoff(30) == 300.0


def test_a_score_that_cannot_be_sent_waits_without_holding_up_the_rest(tmp_path: Path) -> None:
    """Is a queued score for an assignment no longer in course.toml, or a platform no longer
    registered, kept with its error and a later try, while the round goes on to the next one?"""
    import tomllib

    from nnlab.course.config import parse_course
    from nnlab.course.db import Database
    from nnlab.course.lti import outbox, store
    from nnlab.course.lti.services import Services

    platform = LmsPlatform()
    platform.http.server_close()
    text = COURSE_TOML + platform.registration()
    course = parse_course(text, tmp_path / "course.toml", {"leaky_relu", "my_linear"})
    platforms = parse_platforms(tomllib.loads(text), tmp_path / "course.toml")
    db = Database(tmp_path / "data")
    store.install(db)
    outbox.install(db)
    store.save_context(db, store.Context(platform.issuer, "c1", CLIENT_ID, DEPLOYMENT, "", "",
                                         platform.url + "/api/lti/courses/42/line_items"))
    for issuer, assignment in ((platform.issuer, "gone"), ("https://old.lms", "hw1")):
        outbox._queue_one(db, outbox.Target(issuer, "c1", "u1", "ada"), assignment, 1.0, 2.0, "t", False)
    box = outbox.Outbox(db, course, platforms, lambda p: Services(p, RSAKey.generate_key(2048, private=True)))
    assert box.deliver() == 0
    rows = db.query("SELECT status, attempts, next_at, last_error FROM lti_outbox ORDER BY seq")
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1), ("pending", 1)]
    assert "'gone' is no longer in course.toml" in rows[0]["last_error"]
    assert "no [lti] registration" in rows[1]["last_error"]
    assert all(r["next_at"] > time.time() for r in rows)

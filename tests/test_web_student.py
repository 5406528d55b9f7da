"""The students' pages over real HTTP: assignments, the upload form (the API's rules), feedback, regrade requests."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from test_course_server import (BEFORE_DUE, COURSE_TOML, SOLUTION, Served, add_accounts, call, upload,
                                wait_graded)
from webclient import Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-student")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield {"root": root, "tokens": tokens, "url": served.url, "served": served}
    served.stop()


def _signed_in(site: dict[str, Any], who: str) -> Browser:
    browser = Browser(site["url"])
    assert browser.sign_in(site["tokens"][who]).status == 303
    return browser


def _left(site: dict[str, Any], who: str, assignment: str = "hw1") -> int:
    listed = call(site["url"], "GET", "/api/v1/assignments", site["tokens"][who])[2]
    return next(a["attempts_left"] for a in listed if a["id"] == assignment)


def test_pages_need_a_session_or_a_token(site: dict[str, Any]) -> None:
    """Without a session, is every page answered 401 with the sign-in form, and a form post refused?"""
    browser = Browser(site["url"])
    for path in ("/", "/assignments/hw1", "/submissions/anything"):
        answer = browser.get(path)
        assert answer.status == 401 and 'action="/login"' in answer.text
    assert browser.post_files("/assignments/hw1/upload", {}, SOLUTION).status == 401


def test_the_home_page_lists_assignments_with_their_rules(site: dict[str, Any]) -> None:
    home = _signed_in(site, "ada").get("/")
    assert home.status == 200
    assert 'href="/assignments/hw1"' in home.text and 'href="/assignments/quiz"' in home.text
    assert "(Asia/Shanghai)" in home.text and "10%" in home.text


def test_the_instructor_is_not_a_student(site: dict[str, Any]) -> None:
    browser = _signed_in(site, "instructor")
    assert browser.get("/assignments/hw1").status == 403
    csrf = browser.get("/login").header("location")  # signed in: sent on to the instructor's page
    assert csrf == "/instructor"


@pytest.mark.slow  # waits for the grader
def test_upload_through_the_form_spends_an_attempt_like_the_api(site: dict[str, Any]) -> None:
    """Does one form upload cost exactly one attempt, as one API upload does, and show feedback?"""
    browser = _signed_in(site, "ben")
    before = _left(site, "ben")
    page = browser.get("/assignments/hw1")
    sent = browser.post_files("/assignments/hw1/upload", {"csrf": page.csrf()}, SOLUTION)
    assert sent.status == 303 and sent.header("location").startswith("/submissions/")
    assert _left(site, "ben") == before - 1
    status, _, accepted = call(site["url"], "POST", "/api/v1/submissions", site["tokens"]["ben"],
                               upload(SOLUTION))
    assert status == 202 and accepted["attempts_left"] == before - 2
    submission_id = sent.header("location").rsplit("/", 1)[1]
    [graded] = wait_graded(site["served"], site["tokens"]["ben"], [submission_id])
    assert graded["status"] == "done" and graded["files"] == ["leaky_relu.py"]
    feedback = browser.get(f"/submissions/{submission_id}")
    assert feedback.status == 200 and "leaky_relu" in feedback.text
    assert f"{graded['score']:g} <span class=\"muted\">/ {graded['max_score']:g}" in feedback.text
    mine = browser.get("/assignments/hw1")
    assert f'href="/submissions/{submission_id}"' in mine.text and f'href="/submissions/{accepted["id"]}"' in mine.text


@pytest.mark.parametrize("files", [
    {"leaky_relu.py": b"def leaky_relu(:\n"},
    {"notes.txt": b"hello"},
    {"leaky_relu.ipynb": b"{not a notebook"},
])
def test_the_form_refuses_what_the_api_refuses_at_no_cost(site: dict[str, Any], files: dict[str, bytes]) -> None:
    """A file the API refuses: the same status and message through the form, no attempt spent."""
    browser = _signed_in(site, "cy")
    before = _left(site, "cy")
    api = call(site["url"], "POST", "/api/v1/submissions", site["tokens"]["cy"], upload(files))
    form = browser.post_files("/assignments/hw1/upload", {"csrf": browser.get("/assignments/hw1").csrf()}, files)
    assert form.status == api[0] == 422
    assert _html_text(api[2]["detail"]) in form.text
    assert _left(site, "cy") == before


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;") \
        .replace('"', "&#34;")


def test_a_form_upload_without_the_csrf_token_is_refused_at_no_cost(site: dict[str, Any]) -> None:
    browser = _signed_in(site, "dee")
    before = _left(site, "dee")
    for form in ({}, {"csrf": "not-the-token"}):
        refused = browser.post_files("/assignments/hw1/upload", form, SOLUTION)
        assert refused.status == 403 and 'role="alert"' in refused.text and "CSRF token" in refused.text
    other = _signed_in(site, "cy")  # another session's token is no good either
    assert browser.post_files("/assignments/hw1/upload", {"csrf": other.get("/").csrf()}, SOLUTION).status == 403
    assert _left(site, "dee") == before


def test_another_students_submission_is_not_found(site: dict[str, Any]) -> None:
    owner = _signed_in(site, "s01")
    sent = owner.post_files("/assignments/hw1/upload", {"csrf": owner.get("/assignments/hw1").csrf()}, SOLUTION)
    path = sent.header("location")
    assert owner.get(path).status == 200
    other = _signed_in(site, "s02")
    unknown = other.get("/submissions/no-such-id-at-all-123456")
    assert other.get(path).status == unknown.status == 404
    csrf = other.get("/").csrf()
    assert other.post(path + "/regrades", {"csrf": csrf, "about": "leaky_relu|", "reason": "x"}).status == 404
    assert _signed_in(site, "instructor").get(path).status == 200


@pytest.mark.slow  # waits for the grader
def test_a_regrade_request_once_per_check(site: dict[str, Any]) -> None:
    """Can a student ask about a check once, with a reason, and see the request on the page?"""
    browser = _signed_in(site, "s03")
    sent = browser.post_files("/assignments/hw1/upload", {"csrf": browser.get("/assignments/hw1").csrf()},
                              SOLUTION)
    path = sent.header("location")
    wait_graded(site["served"], site["tokens"]["s03"], [path.rsplit("/", 1)[1]])
    page = browser.get(path)
    choices = re.findall(r'<option value="([^"]+)"', page.text)
    assert "leaky_relu|" in choices and any(c.startswith("leaky_relu|test_") for c in choices)
    check = next(c for c in choices if c.startswith("leaky_relu|test_"))
    form = {"csrf": page.csrf(), "about": check, "reason": "My <b>output</b> matches"}
    assert browser.post(path + "/regrades", {**form, "csrf": "wrong"}).status == 403
    assert browser.post(path + "/regrades", {**form, "reason": "  "}).status == 422
    assert browser.post(path + "/regrades", form).status == 303
    again = browser.get(path)
    assert "My &lt;b&gt;output&lt;/b&gt; matches" in again.text and "waiting for your instructor" in again.text
    assert f'value="{check}"' not in again.text
    assert browser.post(path + "/regrades", form).status == 409
    assert browser.post(path + "/regrades", {**form, "about": "leaky_relu|test_nothing_such"}).status == 422

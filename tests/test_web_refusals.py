"""The browser pages answer the API's refusals (an unknown submission or assignment) as pages; /api/v1 keeps JSON."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from test_course_server import BEFORE_DUE, COURSE_TOML, SOLUTION, Served, add_accounts, call, upload
from webclient import Answer, Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-refusals")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    status, _, accepted = call(served.url, "POST", "/api/v1/submissions", tokens["cy"], upload(SOLUTION))
    assert status == 202
    yield {"tokens": tokens, "url": served.url, "cy_upload": accepted["id"]}
    served.stop()


def _signed_in(site: dict[str, Any], who: str) -> Browser:
    browser = Browser(site["url"])
    assert browser.sign_in(site["tokens"][who]).status == 303
    return browser


def _is_page(answer: Answer, status: int, detail: str) -> bool:
    """A page of the site (its shell, the heading, the reason shown), never a JSON body."""
    return (answer.status == status and answer.header("content-type").startswith("text/html")
            and "<!doctype html>" in answer.text.lower() and "<h1>Not found</h1>" in answer.text
            and detail in answer.text and '"detail"' not in answer.text)


def test_another_students_submission_is_a_not_found_page(site: dict[str, Any]) -> None:
    """Another student's upload and an unknown id: the same 404 page; the owner sees theirs."""
    path = f"/submissions/{site['cy_upload']}"
    assert _signed_in(site, "cy").get(path).status == 200
    other = _signed_in(site, "dee")
    mine, unknown = other.get(path), other.get("/submissions/no-such-id-at-all-123456")
    assert _is_page(mine, 404, "no such submission") and _is_page(unknown, 404, "no such submission")
    assert mine.text.replace(path, "") == unknown.text.replace("/submissions/no-such-id-at-all-123456", "")
    asked = other.post(path + "/regrades", {"csrf": other.get("/").csrf(), "about": "leaky_relu|", "reason": "x"})
    assert _is_page(asked, 404, "no such submission")


def test_an_unknown_assignment_is_a_not_found_page(site: dict[str, Any]) -> None:
    student, teacher = _signed_in(site, "dee"), _signed_in(site, "instructor")
    assert _is_page(student.get("/assignments/hw9"), 404, "no assignment &#39;hw9&#39;")
    assert _is_page(teacher.get("/instructor/assignments/hw9"), 404, "no assignment &#39;hw9&#39;")
    assert _is_page(teacher.get("/instructor/assignments/hw%ED%A0%80"), 404, "no assignment")  # a lone surrogate


def test_the_api_keeps_answering_json(site: dict[str, Any]) -> None:
    """The same refusals through /api/v1: JSON {"detail": ...}, as before."""
    url, token = site["url"], site["tokens"]["dee"]
    for path, detail in ((f"/api/v1/submissions/{site['cy_upload']}", "no such submission"),
                         ("/api/v1/submissions/no-such-id-at-all-123456", "no such submission"),
                         ("/api/v1/assignments/hw9/results", "no assignment 'hw9'")):
        status, headers, body = call(url, "GET", path, site["tokens"]["instructor"] if "results" in path else token)
        assert status == 404 and headers["content-type"] == "application/json" and body == {"detail": detail}

"""The instructor's pages over real HTTP: progress, extensions everywhere, the regrade queue, downloads."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from test_course_server import (COURSE_TOML, LATE, SOLUTION, Served, add_accounts, call, nnlab, upload,
                                wait_graded)
from webclient import Browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server two started days after hw1's due date (quiz closed): ada uploaded hw1 late."""
    root = tmp_path_factory.mktemp("web-instructor")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    served = Served(root / "course.toml", root / "data", LATE)
    status, _, accepted = call(served.url, "POST", "/api/v1/submissions", tokens["ada"], upload(SOLUTION))
    assert status == 202 and accepted["late_days"] == 2
    wait_graded(served, tokens["ada"], [accepted["id"]])
    teacher = Browser(served.url)
    assert teacher.sign_in(tokens["instructor"]).status == 303
    yield {"root": root, "tokens": tokens, "url": served.url, "served": served, "ada": accepted["id"],
           "teacher": teacher}
    served.stop()


def _api(site: dict[str, Any], path: str, who: str = "instructor") -> Any:
    status, _, body = call(site["url"], "GET", path, site["tokens"][who])
    assert status == 200, (path, body)
    return body


def test_only_the_instructor_reaches_the_instructor_pages(site: dict[str, Any]) -> None:
    student = Browser(site["url"])
    student.sign_in(site["tokens"]["ben"])
    for path in ("/instructor", "/instructor/assignments/hw1", "/instructor/regrades",
                 "/instructor/assignments/hw1/scores.csv"):
        assert student.get(path).status == 403
        assert Browser(site["url"]).get(path).status == 401
    csrf = student.get("/").csrf()
    refused = student.post("/instructor/assignments/hw1/extensions", {"csrf": csrf, "student": "ben",
                                                                      "extra_attempts": "5"})
    assert refused.status == 403


def test_progress_and_downloads_match_the_api(site: dict[str, Any]) -> None:
    teacher = site["teacher"]
    overview = teacher.get("/instructor")
    assert overview.status == 200
    row = re.search(r'href="/instructor/assignments/hw1".*?</tr>', overview.text, re.S).group(0)
    assert f"1 / {len(site['tokens']) - 1}" in row  # one of the roster handed in
    for name in ("scores.csv", "canvas.csv"):
        assert teacher.get(f"/instructor/assignments/hw1/{name}").text == \
            _api(site, f"/api/v1/assignments/hw1/{name}")
    assert json.loads(teacher.get("/instructor/assignments/hw1/results.json").text) == \
        _api(site, "/api/v1/assignments/hw1/results")
    assert "<html" in teacher.get("/instructor/assignments/hw1/report").text


@pytest.mark.slow  # grades an upload in the fixture
def test_an_extension_applies_to_lateness_limits_and_exports(site: dict[str, Any]) -> None:
    """Granted in the form: does the late penalty go, the closed quiz open, the hourly limit grow,
    for the API, the student's pages and the exports alike?"""
    teacher = site["teacher"]
    page = teacher.get("/instructor/assignments/hw1")
    before = [r for r in _api(site, "/api/v1/assignments/hw1/results") if r["student"] == "ada"][0]
    assert before["late_days"] == 2 and before["late_penalty"] == pytest.approx(0.2)
    assert teacher.post("/instructor/assignments/hw1/extensions",
                        {"student": "ada", "due": "2026-12-13T23:59"}).status == 403  # no CSRF token
    assert [r for r in _api(site, "/api/v1/assignments/hw1/results") if r["student"] == "ada"][0] == before
    granted = teacher.post("/instructor/assignments/hw1/extensions",
                           {"csrf": page.csrf(), "student": "ada", "due": "2026-12-13T23:59",
                            "extra_attempts": "5", "reason": "illness"})
    assert granted.status == 200 and "Extension granted to ada" in granted.text
    after = [r for r in _api(site, "/api/v1/assignments/hw1/results") if r["student"] == "ada"][0]
    assert after["late_days"] == 0 and after["late_penalty"] == 0 and after["score"] == after["raw_score"]
    mine = _api(site, f"/api/v1/submissions/{site['ada']}", "ada")
    assert mine["late_days"] == 0 and mine["result"]["late_penalty"] == 0
    listed = {a["id"]: a for a in _api(site, "/api/v1/assignments", "ada")}
    assert listed["hw1"]["due"].startswith("2026-12-13T23:59") and listed["hw1"]["attempts_per_hour"] == 55
    others = {a["id"]: a for a in _api(site, "/api/v1/assignments", "ben")}
    assert others["hw1"]["attempts_per_hour"] == 50
    scores = _api(site, "/api/v1/assignments/hw1/scores.csv")
    ada_line = next(line for line in scores.splitlines() if line.startswith("ada,"))
    assert f"{after['score']:g}" in ada_line
    # nnlab collect carries it into gradebook.json beside the late days it changed.
    collected = nnlab("collect", "--assignment", "hw1", "--out", str(site["root"] / "class"),
                      env={"NNLAB_SERVER": site["url"], "NNLAB_TOKEN": site["tokens"]["instructor"],
                           "XDG_CONFIG_HOME": str(site["root"] / "config")})
    assert collected.returncode == 0, collected.stderr
    book = json.loads((site["root"] / "class" / "gradebook.json").read_text())
    [entry] = [s for s in book["students"] if s["student"] == "ada"]
    assert entry["late_days"] == 0 and entry["extension"]["due"].startswith("2026-12-13T23:59")
    assert entry["extension"]["extra_attempts"] == 5 and entry["extension"]["reason"] == "illness"
    assert all("extension" not in s for s in book["students"] if s["student"] != "ada")
    # The quiz closed at its due date; an extension reopens it for this student only.
    assert call(site["url"], "POST", "/api/v1/submissions", site["tokens"]["ben"],
                upload(SOLUTION, "quiz"))[0] == 403
    quiz = teacher.get("/instructor/assignments/quiz")
    assert teacher.post("/instructor/assignments/quiz/extensions",
                        {"csrf": quiz.csrf(), "student": "ben", "late_until": "2026-12-20T12:00"}).status == 200
    status, _, accepted = call(site["url"], "POST", "/api/v1/submissions", site["tokens"]["ben"],
                               upload(SOLUTION, "quiz"))
    assert status == 202 and accepted["late_days"] == 2  # still late: only the window moved


@pytest.mark.slow  # waits for the grader
def test_a_regrade_accepted_and_one_declined_reach_the_student(site: dict[str, Any]) -> None:
    student = Browser(site["url"])
    student.sign_in(site["tokens"]["cy"])
    sent = student.post_files("/assignments/hw1/upload", {"csrf": student.get("/assignments/hw1").csrf()},
                              SOLUTION)
    path = sent.header("location")
    wait_graded(site["served"], site["tokens"]["cy"], [path.rsplit("/", 1)[1]])
    page = student.get(path)
    check = next(c for c in re.findall(r'<option value="([^"]+)"', page.text) if c.startswith("leaky_relu|test_"))
    assert student.post(path + "/regrades", {"csrf": page.csrf(), "about": check, "reason": "please"}).status == 303
    assert student.post(path + "/regrades", {"csrf": page.csrf(), "about": "leaky_relu|",
                                             "reason": "and this"}).status == 303
    teacher = site["teacher"]
    queue = teacher.get("/instructor/regrades")
    seqs = re.findall(r'action="/instructor/regrades/(\d+)"', queue.text)
    assert len(seqs) == 2
    accepted = teacher.post(f"/instructor/regrades/{seqs[0]}", {
        "csrf": queue.csrf(), "decision": "accept", "kind": "delta", "points": "-0.5",
        "reason": "Granted, with a deduction"})
    assert accepted.status == 303
    declined = teacher.post(f"/instructor/regrades/{seqs[1]}", {
        "csrf": queue.csrf(), "decision": "decline", "reason": "The statement says otherwise"})
    assert declined.status == 303
    assert teacher.post(f"/instructor/regrades/{seqs[1]}", {
        "csrf": queue.csrf(), "decision": "decline", "reason": "again"}).status == 409
    adjustments = [a for a in _api(site, "/api/v1/assignments/hw1/adjustments") if a["student"] == "cy"]
    assert [(a["points"], a["reason"]) for a in adjustments] == [(-0.5, "Granted, with a deduction")]
    seen = student.get(path)
    assert "Granted, with a deduction" in seen.text and "The statement says otherwise" in seen.text
    assert "accepted" in seen.text and "declined" in seen.text


def test_an_adjustment_of_unknown_kind_is_refused_not_taken_as_a_delta(site: dict[str, Any]) -> None:
    """A form that names a kind the server does not know: is it refused with the API's message
    (and nothing stored), rather than stored as a delta?"""
    teacher = site["teacher"]
    page = teacher.get("/instructor/assignments/hw1")
    before = len(_api(site, "/api/v1/assignments/hw1/adjustments"))
    refused = teacher.post("/instructor/assignments/hw1/adjustments", {
        "csrf": page.csrf(), "student": "ben", "exercise": "leaky_relu", "kind": "bonus", "points": "3",
        "reason": "typed by hand"})
    assert refused.status == 422 and "unknown adjustment kind" in refused.text
    assert len(_api(site, "/api/v1/assignments/hw1/adjustments")) == before

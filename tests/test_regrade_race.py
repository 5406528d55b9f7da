"""Two instructors answering one regrade request at once, over real HTTP: one answer, one adjustment."""
from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from test_course_server import COURSE_TOML, LATE, Served, add_accounts, call
from webclient import Answer, Browser

from nnlab.course.db import Database
from nnlab.course.web import regrades

ASKED = [("ada", "leaky_relu", "test_forward"), ("ben", "leaky_relu", ""), ("cy", "my_linear", ""),
         ("dee", "leaky_relu", "test_grad")]
"""Open requests written straight into the database before the server starts: answering one needs
no graded upload, so no grading stands between the test and the race it is about."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("regrade-race")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    db = Database(root / "data")
    regrades.ensure(db)
    seqs = [regrades.ask(db, "hw1", student, f"upload-of-{student}", exercise, check, "please look again",
                         "2026-12-12T10:00:00+08:00") for student, exercise, check in ASKED]
    served = Served(root / "course.toml", root / "data", LATE)
    # Two instructors: two signed-in sessions, each with its own cookie and CSRF token.
    desks = [Browser(served.url) for _ in range(4)]
    for desk in desks:
        assert desk.sign_in(tokens["instructor"]).status == 303
    yield {"root": root, "tokens": tokens, "served": served, "seqs": seqs, "desks": desks}
    served.stop()


def _at_once(desks: list[Browser], seq: int, forms: list[dict[str, str]]) -> list[Answer]:
    """Each desk posts its form for request `seq`, all released together."""
    csrf = [desk.get("/instructor/regrades").csrf() for desk in desks[:len(forms)]]
    start = threading.Barrier(len(forms))
    answers: list[Answer | None] = [None] * len(forms)

    def post(i: int) -> None:
        start.wait()
        answers[i] = desks[i].post(f"/instructor/regrades/{seq}", {"csrf": csrf[i], **forms[i]})

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _stored(site: dict[str, Any], seq: int) -> tuple[sqlite3.Row, list[dict[str, Any]]]:
    """The request's row, and the adjustments stored for its student (the API's list)."""
    conn = sqlite3.connect(site["root"] / "data" / "course.sqlite3")
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM regrade_requests WHERE seq = ?", (seq,)).fetchone()
    conn.close()
    status, _, listed = call(site["served"].url, "GET", "/api/v1/assignments/hw1/adjustments",
                             site["tokens"]["instructor"])
    assert status == 200, listed
    return row, [a for a in listed if a["student"] == row["student"]]


def _one_answer(answers: list[Answer]) -> int:
    """The index of the one answer taken; every other was refused with 409 and one line saying why."""
    statuses = [a.status for a in answers]
    assert sorted(statuses) == [303] + [409] * (len(answers) - 1), statuses
    for refused in (a for a in answers if a.status == 409):
        assert re.search(r"this request was answered already", refused.text), refused.text[:2000]
    return statuses.index(303)


def _accept(points: str, reason: str) -> dict[str, str]:
    return {"decision": "accept", "kind": "delta", "points": points, "reason": reason}


@pytest.mark.parametrize("desks", [2, 4])
def test_accepting_one_request_at_once_stores_one_adjustment(site: dict[str, Any], desks: int) -> None:
    """Two (then four) instructors accept one request at the same moment with different points:
    is exactly one accepted (the rest 409), and is exactly its adjustment stored and linked?"""
    seq = site["seqs"][0 if desks == 2 else 2]
    forms = [_accept(str(i + 1), f"granted by desk {i}") for i in range(desks)]
    winner = _one_answer(_at_once(site["desks"], seq, forms))
    row, adjustments = _stored(site, seq)
    assert row["status"] == "accepted" and row["answer"] == f"granted by desk {winner}"
    assert [(a["points"], a["reason"]) for a in adjustments] == [(winner + 1.0, f"granted by desk {winner}")]
    assert row["adjustment"] == adjustments[0]["id"]


def test_accept_and_decline_at_once_leave_one_decision(site: dict[str, Any]) -> None:
    """One instructor accepts while another declines: does one decision stand, with an adjustment
    exactly when it is the acceptance?"""
    seq = site["seqs"][1]
    forms = [_accept("2", "yes"), {"decision": "decline", "reason": "no"}]
    winner = _one_answer(_at_once(site["desks"], seq, forms))
    row, adjustments = _stored(site, seq)
    if winner == 0:
        assert (row["status"], row["answer"]) == ("accepted", "yes")
        assert [a["id"] for a in adjustments] == [row["adjustment"]]
    else:
        assert (row["status"], row["answer"], row["adjustment"]) == ("declined", "no", None)
        assert adjustments == []


def test_a_refused_acceptance_changes_nothing(site: dict[str, Any]) -> None:
    """An acceptance whose adjustment is refused (points that are not a number): is the request
    still open, with nothing stored, and can it then be accepted once?"""
    seq = site["seqs"][3]
    desk = site["desks"][0]
    csrf = desk.get("/instructor/regrades").csrf()
    refused = desk.post(f"/instructor/regrades/{seq}", {"csrf": csrf, **_accept("lots", "sure")})
    assert refused.status == 422 and "points must be a number" in refused.text
    row, adjustments = _stored(site, seq)
    assert (row["status"], adjustments) == ("open", [])
    assert desk.post(f"/instructor/regrades/{seq}", {"csrf": csrf, **_accept("0.5", "sure")}).status == 303
    again = desk.post(f"/instructor/regrades/{seq}", {"csrf": csrf, **_accept("0.5", "sure")})
    assert again.status == 409
    row, adjustments = _stored(site, seq)
    assert row["status"] == "accepted" and [a["id"] for a in adjustments] == [row["adjustment"]]

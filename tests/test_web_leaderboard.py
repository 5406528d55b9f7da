"""The leaderboard: correct uploads of timed exercises ranked by timing ratio, shared ranks within the spread."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from nnlab.course.web.leaderboard import Entry, rank
from nnlab.results import CheckResult, Confinement, ExerciseResult, Outcome, SubmissionResult, TimingInfo, Visibility
from test_course_server import BEFORE_DUE, COURSE_TOML, Served, add_accounts
from webclient import Browser

RACE = COURSE_TOML + """
[[assignment]]
id = "race"
exercises = ["my_linear"]
due = "2026-12-10T23:59:00"
leaderboard = true
"""


def test_ranks_are_shared_within_the_measurements_spread() -> None:
    ranked = rank([Entry("c", 1.30, 0.02, "3"), Entry("a", 0.80, 0.05, "1"), Entry("b", 0.82, 0.01, "2"),
                   Entry("d", 1.31, 0.02, "4"), Entry("e", 2.0, 0.0, "5")])
    assert [(r, e.student) for r, e in ranked] == [(1, "a"), (1, "b"), (3, "c"), (3, "d"), (5, "e")]
    # A chain of close entries does not drag a slow one up: each is compared with its group's first.
    chain = rank([Entry("x", 1.0, 0.05, "1"), Entry("y", 1.04, 0.05, "2"), Entry("z", 1.08, 0.05, "3")])
    assert [r for r, _ in chain] == [1, 1, 3]


def _result(student: str, ratio: float, correct: bool, hidden_passed: bool = True) -> str:
    checks = (
        CheckResult("Edge cases", "test_edges", 1.0 if hidden_passed else 0.0, 1.0,
                    Outcome.PASSED if hidden_passed else Outcome.FAILED, Visibility.HIDDEN, ""),
        CheckResult("Right values", "test_values", 1.0 if correct else 0.0, 1.0,
                    Outcome.PASSED if correct else Outcome.FAILED, Visibility.VISIBLE, ""),
        CheckResult("Fast enough", "test_speed", 1.0, 1.0, Outcome.PASSED, Visibility.HIDDEN, "",
                    timing=TimingInfo("cpu", ratio, 3.0, 0.03, ratio * 1e-3, 1e-3, 7)),
    )
    result = SubmissionResult(student, (ExerciseResult("my_linear", "Linear", checks, 2.0),), 1,
                              Confinement("none", ()), "cpu", "test", "2026-12-09T02:00:00+00:00")
    return json.dumps(result.to_json())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-leaderboard")
    (root / "course.toml").write_text(RACE, encoding="utf-8")
    tokens = add_accounts(root / "data")
    graded = [("ada", 0.9, True, True), ("ben", 0.5, False, True), ("cy", 1.5, True, True), ("ada", 1.2, True, True),
              ("dee", 2.5, True, False)]
    with sqlite3.connect(root / "data" / "course.sqlite3") as conn:
        for n, (student, ratio, correct, hidden) in enumerate(graded):
            conn.execute("INSERT INTO submissions (id, student, assignment, submitted_at, ts, late_days, files, "
                         "seed, status, result, score, max_score) VALUES (?, ?, 'race', ?, ?, 0, "
                         "'[\"my_linear.py\"]', 1, 'done', ?, 2, 2)",
                         (f"sub{n}", student, "2026-12-09T10:00:00+08:00", 1.0 + n,
                          _result(student, ratio, correct, hidden)))
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    yield {"tokens": tokens, "url": served.url}
    served.stop()


def test_the_board_shows_correct_uploads_under_chosen_names(site: dict[str, Any]) -> None:
    ada = Browser(site["url"])
    ada.sign_in(site["tokens"]["ada"])
    board = ada.get("/assignments/race/leaderboard")
    assert board.status == 200
    rows = board.text.split('id="board-my_linear"')[1].split("</table>")[0]
    assert "0.90×" in rows and "1.50×" in rows
    assert "0.50×" not in rows and "1.20×" not in rows  # ben failed a check; ada's slower upload is not hers
    # dee failed a hidden check: before the hidden checks are shown, a place must not tell her so.
    assert "2.50×" in rows and "ada" not in rows.replace("(you)", "") and rows.count("anonymous") == 3
    assert ada.post("/assignments/race/leaderboard/name", {"name": "Speedy"}).status == 403  # no CSRF token
    assert ada.post("/assignments/race/leaderboard/name", {"csrf": board.csrf(), "name": "Speedy <3"}).status == 303
    cy = Browser(site["url"])
    cy.sign_in(site["tokens"]["cy"])
    seen = cy.get("/assignments/race/leaderboard")
    assert "Speedy &lt;3" in seen.text and "(you)" in seen.text
    assert cy.post("/assignments/race/leaderboard/name", {"csrf": seen.csrf(), "name": "speedy  <3"}).status == 409
    assert cy.get("/assignments/hw1/leaderboard").status == 404

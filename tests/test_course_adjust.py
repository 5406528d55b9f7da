"""Instructor adjustments on the course server: `nnlab adjust`, every export, the student's view, restarts."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_course_server import (COURSE_TOML, LATE, SOLUTION, Served, add_accounts, call, nnlab, upload,
                                wait_graded)

REASON = "Helper copied from ben's file (integrity case 7) <b>"
"""Carries markup on purpose: the pages must show it literally."""


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server two days past hw1's due date (20% late penalty, hidden checks shown)."""
    root = tmp_path_factory.mktemp("adjust")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    state = {"root": root, "tokens": add_accounts(root / "data")}
    state["served"] = Served(root / "course.toml", root / "data", LATE)
    yield state
    state["served"].stop()


@pytest.fixture(scope="module")
def adjusted(late: dict[str, Any]) -> dict[str, Any]:
    """ada's correct leaky_relu graded 10/10 (8 after the penalty), then `nnlab adjust --delta -1.5`."""
    url, tokens = late["served"].url, late["tokens"]
    status, _, accepted = call(url, "POST", "/api/v1/submissions", tokens["ada"], upload(SOLUTION))
    assert status == 202
    assert wait_graded(late["served"], tokens["ada"], [accepted["id"]])[0]["score"] == pytest.approx(8.0)
    late["first"] = accepted["id"]
    late["adjust"] = _adjust(late, "--student", "ada", "--exercise", "leaky_relu", "--delta", "-1.5",
                             "--reason", REASON)
    return late


def _adjust(state: dict[str, Any], *args: str) -> Any:
    env = {"NNLAB_SERVER": state["served"].url, "NNLAB_TOKEN": state["tokens"]["instructor"],
           "XDG_CONFIG_HOME": str(state["root"] / "config")}
    return nnlab("adjust", "--assignment", "hw1", *args, env=env)


def _results(state: dict[str, Any], student: str) -> dict[str, Any]:
    results = call(state["served"].url, "GET", "/api/v1/assignments/hw1/results",
                   state["tokens"]["instructor"])[2]
    return next(r for r in results if r["student"] == student)


def _leaky(result: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in result["exercises"] if e["id"] == "leaky_relu")


@pytest.mark.slow
def test_nnlab_adjust_reaches_every_export_and_the_student(adjusted: dict[str, Any]) -> None:
    """After `nnlab adjust --delta -1.5`, do results, scores.csv and the class report carry the
    adjusted score with the original kept, and does the student see the reason on their submission?"""
    late, added = adjusted, adjusted["adjust"]
    assert added.returncode == 0, added.stderr
    assert "10 from the checks, 8.5/10 with adjustments, 6.8 after the 20% late penalty" in added.stdout

    ada = _results(late, "ada")
    leaky = _leaky(ada)
    assert (leaky["score"], leaky["original_score"], ada["raw_score"]) == pytest.approx((6.8, 8.0, 8.5))
    [record] = leaky["adjustments"]
    assert (record["points"], record["reason"], record["author"]) == (-1.5, REASON, "instructor")
    assert record["date"].startswith("2026-12-12T10:") and record["date"].endswith("+08:00")

    scores = call(late["served"].url, "GET", "/api/v1/assignments/hw1/scores.csv", late["tokens"]["instructor"])[2]
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(scores))}
    assert float(rows["ada"]["leaky_relu"]) == pytest.approx(6.8) and float(rows["ben"]["total"]) == 0

    report = call(late["served"].url, "GET", "/assignments/hw1/report", late["tokens"]["instructor"])[2]
    assert 'aria-label="adjusted"' in report and "Helper copied from ben&#39;s file" in report

    mine = call(late["served"].url, "GET", f"/api/v1/submissions/{late['first']}", late["tokens"]["ada"])[2]
    assert _leaky(mine["result"])["adjustments"][0]["reason"] == REASON
    assert mine["score"] == pytest.approx(6.8)
    page = call(late["served"].url, "GET", f"/submissions/{late['first']}", late["tokens"]["ada"])[2]
    assert "Helper copied from ben&#39;s file (integrity case 7) &lt;b&gt;" in page
    assert "the checks gave 10" in page and "-1.5" in page


def test_an_unknown_student_or_exercise_is_refused_at_once(late: dict[str, Any]) -> None:
    """Is an adjustment for a student not on the roster, or an exercise not in the assignment,
    a 422 naming it (one line from `nnlab adjust`), and a student's token refused?"""
    refused = _adjust(late, "--student", "zed", "--exercise", "leaky_relu", "--delta", "1", "--reason", "r")
    assert refused.returncode == 2 and "unknown student 'zed'" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    url, tokens = late["served"].url, late["tokens"]
    status, _, body = call(url, "POST", "/api/v1/assignments/hw1/adjustments", tokens["instructor"],
                           {"student": "ada", "exercise": "conv2d", "delta": 1, "reason": "r"})
    assert status == 422 and "unknown exercise 'conv2d'" in body["detail"]
    status, _, body = call(url, "POST", "/api/v1/assignments/hw1/adjustments", tokens["ada"],
                           {"student": "ada", "exercise": "leaky_relu", "override": 10, "reason": "mine"})
    assert status == 403
    listed = call(url, "GET", "/api/v1/assignments/hw1/adjustments", tokens["instructor"])[2]
    assert not {a["student"] for a in listed} & {"zed"} and "conv2d" not in str(listed)


@pytest.mark.slow
def test_an_unknown_check_is_kept_and_reported_in_the_class_report(adjusted: dict[str, Any]) -> None:
    """Is an adjustment naming a check the result does not have stored, said to be not applied,
    and listed under 'Needs a look' in the class report?"""
    late = adjusted
    added = _adjust(late, "--student", "ada", "--exercise", "leaky_relu", "--check", "test_no_such_check",
                    "--override", "1", "--reason", "statement typo")
    assert added.returncode == 0, added.stderr
    assert "not applied yet" in added.stdout and "no check 'test_no_such_check'" in added.stdout
    report = call(late["served"].url, "GET", "/assignments/hw1/report", late["tokens"]["instructor"])[2]
    needs_a_look = report[report.index('id="attention"'):report.index('id="distribution"')]
    assert "test_no_such_check" in needs_a_look and "not applied" in needs_a_look


@pytest.mark.slow
def test_adjustments_survive_a_new_upload_and_a_restart(adjusted: dict[str, Any]) -> None:
    """When ada uploads again and the server restarts, does her counted grade still carry the
    adjustment, applied to the new result?"""
    late = adjusted
    url, tokens = late["served"].url, late["tokens"]
    accepted = call(url, "POST", "/api/v1/submissions", tokens["ada"], upload(SOLUTION))[2]
    wait_graded(late["served"], tokens["ada"], [accepted["id"]])
    late["served"].stop()
    late["served"] = Served(late["root"] / "course.toml", late["root"] / "data", LATE)
    ada = _results(late, "ada")
    assert ada["submission_id"] == accepted["id"]
    assert _leaky(ada)["score"] == pytest.approx(6.8) and _leaky(ada)["adjustments"][0]["reason"] == REASON
    listed = call(late["served"].url, "GET", "/api/v1/assignments/hw1/adjustments", tokens["instructor"])[2]
    assert [a["reason"] for a in listed][:1] == [REASON]


def test_an_older_database_gains_the_adjustments_table(tmp_path: Path) -> None:
    """Does a database made before adjustments existed get the table on start, its rows kept?"""
    from nnlab.course.db import Database, NewAdjustment

    add_accounts(tmp_path)
    with sqlite3.connect(tmp_path / "course.sqlite3") as conn:
        conn.execute("DROP TABLE adjustments")
    db = Database(tmp_path)
    assert "ada" in db.students()
    db.add_adjustment(NewAdjustment(assignment="hw1", student="ada", exercise="leaky_relu", check="",
                                    kind="delta", points=1.0, reason="r", author="instructor",
                                    created_at="t"))
    assert [a["student"] for a in db.adjustments("hw1")] == ["ada"]


UNKNOWN_KIND = "unknown adjustment kind 'bonus' (expected 'delta' or 'override')"


@pytest.mark.parametrize("kind", ["delta", "override"])
def test_each_kind_round_trips_the_database_and_the_api_unchanged(tmp_path: Path, kind: str) -> None:
    """Is a kind given as a plain string stored in SQLite as that text, and listed by the API's
    JSON and applied as the same kind?"""
    from nnlab.course import adjust
    from nnlab.course.db import Database, NewAdjustment
    from nnlab.results import Kind

    db = Database(tmp_path)
    db.add_adjustment(NewAdjustment(assignment="hw1", student="ada", exercise="leaky_relu", check="",
                                    kind=kind, points=2.0, reason="r", author="instructor", created_at="t"))
    with sqlite3.connect(tmp_path / "course.sqlite3") as conn:
        assert conn.execute("SELECT kind, typeof(kind) FROM adjustments").fetchall() == [(kind, "text")]
    [stored] = db.adjustments("hw1")
    assert json.dumps(adjust.to_json(stored)) == (
        '{"id": 1, "assignment": "hw1", "student": "ada", "exercise": "leaky_relu", "check": null, '
        f'"kind": "{kind}", "points": 2.0, "reason": "r", "author": "instructor", "date": "t"}}')
    assert adjust.to_row(stored).kind is Kind(kind) and adjust.requested_kind(kind) is Kind(kind)


def test_an_unknown_kind_is_refused_by_the_server_with_the_same_message(tmp_path: Path) -> None:
    """Is a kind that is neither delta nor override refused with the one message by a new
    adjustment, a stored row being read and a request naming it (a 422 there)?"""
    from nnlab.course import adjust
    from nnlab.course.db import Database, NewAdjustment
    from nnlab.errors import RequestRejected
    from nnlab.results import UnknownAdjustmentKind

    db = Database(tmp_path)
    with pytest.raises(UnknownAdjustmentKind, match=f"^{re.escape(UNKNOWN_KIND)}$"):
        NewAdjustment(assignment="hw1", student="ada", exercise="leaky_relu", kind="bonus", points=1.0,
                      reason="r", author="instructor", created_at="t")
    with sqlite3.connect(tmp_path / "course.sqlite3") as conn:
        conn.execute("INSERT INTO adjustments (assignment, student, exercise, kind, points, reason, author, "
                     "created_at) VALUES ('hw1', 'ada', 'leaky_relu', 'bonus', 1, 'r', 'instructor', 't')")
    [stored] = db.adjustments("hw1")
    for read in (adjust.to_row, adjust.to_json):
        with pytest.raises(UnknownAdjustmentKind, match=f"^{re.escape(UNKNOWN_KIND)}$"):
            read(stored)
    with pytest.raises(RequestRejected, match=f"^{re.escape(UNKNOWN_KIND)}$") as refused:
        adjust.requested_kind("bonus")
    assert refused.value.status == 422


def test_a_student_sees_the_reason_but_not_a_hidden_checks_name() -> None:
    """Before hidden checks are shown, does the student's view list the adjustment as written and
    its reason, leave the score on the shown checks alone, and tell nothing of the hidden check?"""
    from nnlab.course.config import parse_course
    from nnlab.course.policy import student_view
    from nnlab.results import CheckResult, Confinement, ExerciseResult, Outcome, SubmissionResult, Visibility
    from nnlab.review.adjustments import adjust_result, parse_adjustments

    hw1 = parse_course(COURSE_TOML, Path("course.toml"), {"leaky_relu", "my_linear"}).assignment("hw1")
    checks = (CheckResult("shape", "test_shape", 2.0, 2.0, Outcome.PASSED, Visibility.VISIBLE, ""),
              CheckResult("secret parity", "test_secret_parity", 0.0, 8.0, Outcome.FAILED,
                          Visibility.HIDDEN, "0.41 off"))
    graded = SubmissionResult("ada", (ExerciseResult("leaky_relu", "LeakyReLU", checks, 10.0),), 1,
                              Confinement("full", ()), "cpu", "0", "")
    rows = parse_adjustments("student,exercise,check,delta,reason,author\n"
                             "ada,leaky_relu,test_secret_parity,3,tolerance was too strict,instructor\n")
    result, unmatched = adjust_result(graded, rows)
    view = student_view(result, hw1, hw1.due - dt.timedelta(hours=1), 0)
    [exercise] = view["exercises"]
    assert unmatched == [] and (exercise["score"], view["score"]) == (2.0, 2.0)
    [shown] = exercise["full_score_adjustments"]
    assert (shown["reason"], shown["points"], shown["check"], shown["hidden_check"]) == (
        "tolerance was too strict", 3.0, None, True)
    assert "secret" not in str(view) and "change" not in shown, "what it changed tells the hidden score"

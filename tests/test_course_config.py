"""course.toml validation, late days and penalties, and what students may see of hidden checks."""
from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from nnlab.course.accounts import hash_token, new_token, read_roster
from nnlab.course.config import parse_course
from nnlab.course.policy import late_days, penalized, penalty_factor, student_view
from nnlab.errors import UsageError
from nnlab.results import CheckResult, Confinement, ExerciseResult, Outcome, SubmissionResult, Visibility

KNOWN = {"my_linear", "leaky_relu", "custom_sigmoid"}
GOOD = """
[course]
name = "Deep Learning"
timezone = "Asia/Shanghai"

[[assignment]]
id = "hw1"
title = "Layers"
exercises = ["my_linear", "leaky_relu"]
due = "2026-12-10T23:59:00"
late_until = "2026-12-13T23:59:00"
late_penalty_per_day = 0.10
attempts_per_hour = 6
counts = "best"
hidden_feedback = "after_due"
"""


def course(text: str = GOOD):
    return parse_course(text, Path("course.toml"), KNOWN)


def test_dates_without_offset_use_the_course_timezone() -> None:
    """Is a due date without an offset read in [course] timezone, with the defaults filled in?"""
    hw1 = course().assignment("hw1")
    assert hw1.due == dt.datetime(2026, 12, 10, 15, 59, tzinfo=dt.timezone.utc)
    assert (hw1.counts, hw1.attempts_per_hour, hw1.exercises) == ("best", 6, ("my_linear", "leaky_relu"))
    minimal = course(GOOD.split("[[assignment]]")[0] + '[[assignment]]\nid = "a"\nexercises = ["my_linear"]\n'
                     'due = "2026-12-10T23:59:00+00:00"\n').assignment("a")
    assert minimal.late_until == minimal.due and minimal.counts == "last"
    assert minimal.hidden_feedback == "after_due" and minimal.attempts_per_hour == 0


@pytest.mark.parametrize("change, fragment", [
    (('"leaky_relu"]', '"leaky_relu", "no_such"]'), "unknown exercise(s) no_such"),
    (('late_until = "2026-12-13T23:59:00"', 'late_until = "2026-12-09T23:59:00"'), "is after 'late_until'"),
    (('due = "2026-12-10T23:59:00"', 'due = "10 Dec 2026"'), "is not a date and time"),
    (('due = "2026-12-10T23:59:00"', 'due = "2026-12-10"'), "has no time of day"),
    (('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), "not a known time zone"),
    (('timezone = "Asia/Shanghai"\n', ''), "no UTC offset and [course] names no timezone"),
    (('counts = "best"', 'counts = "first"'), "must be one of last, best"),
    (('hidden_feedback = "after_due"', 'hidden_feedback = "sometimes"'), "must be one of after_due"),
    (('attempts_per_hour = 6', 'attempts_per_hour = 2.5'), "must be a whole number"),
    (('attempts_per_hour = 6', 'attempts_per_hour = 6\nlate_untill = 1'),
     "late_untill: unknown key; did you mean late_until?"),
    (('"leaky_relu"]', '"leaky_relu", "my_linear"]'), "listed twice: my_linear"),
])
def test_course_mistakes_are_one_clear_error(change: tuple[str, str], fragment: str) -> None:
    """Does each mistake in course.toml give one error naming the assignment and the problem?"""
    with pytest.raises(UsageError) as error:
        course(GOOD.replace(*change))
    assert fragment in str(error.value)
    assert str(error.value).startswith("course.toml")


def test_duplicate_assignment_ids_are_refused() -> None:
    """Is an assignment id used twice refused?"""
    with pytest.raises(UsageError, match="assignment id 'hw1' is used twice"):
        course(GOOD + "\n[[assignment]]" + GOOD.split("[[assignment]]")[1])


def test_a_late_upload_loses_the_penalty_per_started_day() -> None:
    """Is one minute late one day late, and is 10% lost per started day (never below zero)?"""
    hw1 = course().assignment("hw1")
    assert late_days(hw1.due, hw1) == 0
    assert late_days(hw1.due + dt.timedelta(minutes=1), hw1) == 1
    assert late_days(hw1.due + dt.timedelta(days=1, seconds=1), hw1) == 2
    assert penalty_factor(2, hw1) == pytest.approx(0.8)
    assert penalty_factor(20, hw1) == 0.0


def _result() -> SubmissionResult:
    checks = (CheckResult("shape ok?", "test_shape", 1.0, 1.0, Outcome.PASSED, Visibility.VISIBLE, ""),
              CheckResult("secret parity", "test_parity", 0.0, 3.0, Outcome.FAILED, Visibility.HIDDEN,
                          "max abs error 0.41 at index (2, 3)"),
              CheckResult("secret grads", "test_grads", 2.0, 2.0, Outcome.PASSED, Visibility.HIDDEN, ""))
    return SubmissionResult("ada", (ExerciseResult("my_linear", "MyLinear", checks, 6.0),), 7,
                            Confinement("full", ()), "cpu", "0.1.0", "")


def test_hidden_checks_are_counted_not_described_before_the_due_date() -> None:
    """Before the due date, does the student's view count hidden checks with no name, score or message?"""
    hw1 = course().assignment("hw1")
    text = str(student_view(_result(), hw1, hw1.due - dt.timedelta(hours=1), 0))
    assert "secret" not in text and "0.41" not in text and "test_parity" not in text
    view = student_view(_result(), hw1, hw1.due - dt.timedelta(hours=1), 0)
    assert view["hidden_checks"] == 2 and view["hidden_note"] == (
        "2 hidden checks count toward your grade; their results are shown after the deadline")
    assert (view["score"], view["max_score"]) == (1.0, 1.0)
    after = student_view(_result(), hw1, hw1.due + dt.timedelta(hours=1), 1)
    assert "secret parity" in str(after) and after["hidden_checks"] == 0
    assert after["raw_score"] == 3.0 and after["score"] == pytest.approx(2.7)


def test_never_keeps_hidden_checks_out_even_after_the_deadline() -> None:
    """With hidden_feedback = "never", are hidden checks withheld after the deadline too?"""
    never = course(GOOD.replace('"after_due"', '"never"')).assignment("hw1")
    view = student_view(_result(), never, never.late_until + dt.timedelta(days=30), 0)
    assert "secret" not in str(view) and "not shown" in view["hidden_note"]
    immediate = course(GOOD.replace('"after_due"', '"immediate"')).assignment("hw1")
    assert "secret grads" in str(student_view(_result(), immediate, immediate.due - dt.timedelta(days=9), 0))


def test_penalized_results_add_up() -> None:
    """Does the exported result scale every check, so exercise scores and the total agree?"""
    result = penalized(_result(), 0.5)
    assert result.score == 1.5 and result.exercises[0].score == 1.5 and result.max_score == 6.0


def test_roster_csv_and_tokens(tmp_path: Path) -> None:
    """Does the roster need a student column, refuse duplicates, and are tokens random with 256 bits?"""
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,Name,email\nada,Ada,ada@x\n\nben,,\n", encoding="utf-8")
    assert [e.student for e in read_roster(roster)] == ["ada", "ben"]
    roster.write_text("name\nada\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no 'student' column"):
        read_roster(roster)
    roster.write_text("student\nada\nada\n", encoding="utf-8")
    with pytest.raises(UsageError, match="line 3: student 'ada' is listed twice"):
        read_roster(roster)
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(len(t) >= 43 for t in tokens)
    assert len(hash_token("x")) == 64 and hash_token("x") != "x"


def test_login_file_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Is the saved login readable by the user only, and do NNLAB_SERVER/NNLAB_TOKEN override it?"""
    from nnlab.course.client import CourseClient, config_path, save_login

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("NNLAB_SERVER", raising=False)
    monkeypatch.delenv("NNLAB_TOKEN", raising=False)
    path = save_login("http://a.example:8000", "tok-1")
    assert path == config_path() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    client = CourseClient.from_config()
    assert (client.server, client.token) == ("http://a.example:8000", "tok-1")
    monkeypatch.setenv("NNLAB_SERVER", "http://b.example/")
    monkeypatch.setenv("NNLAB_TOKEN", "tok-2")
    client = CourseClient.from_config()
    assert (client.server, client.token) == ("http://b.example", "tok-2")

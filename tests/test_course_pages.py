"""The student's pages on the course server: the reports' style, code shown as code, readable times."""
from __future__ import annotations

from typing import Any

from nnlab.course.pages import format_when, render_submission


def _submission() -> dict[str, Any]:
    check = {"name": "Does `forward` match nn.Linear?", "visibility": "visible", "outcome": "failed",
             "score": 0, "max_score": 1, "message": "expected <1.0>, got 2.0", "test_id": "test_forward"}
    linear = {"id": "my_linear", "title": "MyLinear", "score": 9, "max_score": 10, "original_score": 9,
              "adjustments": [], "note": "", "submitted": True, "checks": [check]}
    missing = {"id": "custom_sigmoid", "title": "CustomSigmoid", "score": 0, "max_score": 10,
               "original_score": 0, "adjustments": [], "note": "", "submitted": False, "checks": []}
    result = {"score": 7.2, "max_score": 20, "raw_score": 9, "late_days": 2, "late_penalty": 0.2,
              "hidden_checks": 0, "hidden_note": "", "graded_at": "2026-12-10T16:30:00+00:00",
              "exercises": [linear, missing]}
    return {"id": "s1", "student": "ada<script>", "assignment": "hw1", "status": "done",
            "submitted_at": "2026-12-10T16:29:12.345678+00:00", "late_days": 2, "result": result}


def test_the_page_has_the_reports_style_and_shows_code_as_code() -> None:
    """Is the page in the reports' shell (their stylesheet, badges) with inline code rendered,
    not shown as raw backticks, and every outside value escaped?"""
    page = render_submission(_submission(), "Asia/Shanghai")
    assert "--accent" in page and 'class="badge badge-failed"' in page
    assert "Does <code>forward</code> match nn.Linear?" in page and "`" not in page
    assert "ada&lt;script&gt;" in page and "expected &lt;1.0&gt;" in page


def test_times_are_in_the_courses_timezone_and_readable() -> None:
    """Are upload and grading times shown in the course's timezone, as people write them, and
    the late penalty apart from what the checks gave?"""
    page = render_submission(_submission(), "Asia/Shanghai")
    assert "2026-12-10T16:29" not in page
    assert "Fri 11 Dec 2026, 00:29 (Asia/Shanghai)" in page and "2 days late" in page
    assert "The checks gave 9; late penalty 20%" in page


def test_a_time_that_is_not_a_date_is_shown_as_written() -> None:
    """Does a date the instructor typed by hand, or none, come out as written?"""
    assert format_when("last Tuesday", "UTC") == "last Tuesday"
    assert format_when("", "UTC") == ""
    assert format_when("2026-12-10T16:29:00Z", "Europe/Paris") == "Thu 10 Dec 2026, 17:29 (Europe/Paris)"

"""`nnlab submit --assignment` prints what the server returned in the student's language."""
from __future__ import annotations

from typing import Any

import pytest

from nnlab.commands import course_submit
from nnlab.course.schemas import AssignmentInfo, StudentResult

VIEW: dict[str, Any] = {
    "student": "ada", "score": 4.5, "max_score": 6.0, "raw_score": 6.0, "late_days": 2, "late_penalty": 0.25,
    "hidden_checks": 2,
    "hidden_note": "2 hidden checks count toward your grade; their results are shown after the deadline",
    "confinement": "full", "device": "cpu", "nnlab_version": "0", "graded_at": "2026-12-06T10:00:00+00:00",
    "exercises": [{
        "id": "leaky_relu", "title": "LeakyReLU", "score": 6.0, "max_score": 6.0, "original_score": 5.0,
        "note": "", "submitted": True, "hidden_checks": 2,
        "adjustments": [{"check": None, "kind": "delta", "points": 1.0, "change": 1.0,
                         "reason": "neat code", "author": "prof", "date": "2026-12-05T09:00:00"}],
        "checks": [{"name": "forward matches torch", "score": 6.0, "max_score": 6.0, "outcome": "passed",
                    "visibility": "visible", "message": "", "test_id": "test_forward"}]}],
}


def _assignment(hidden_feedback: str) -> AssignmentInfo:
    return AssignmentInfo.model_validate({
        "id": "hw1", "title": "", "exercises": ["leaky_relu"], "due": "2026-12-10T23:59:00+08:00",
        "late_until": "2026-12-13T23:59:00+08:00", "late_penalty_per_day": 0.1, "attempts_per_hour": 0,
        "counts": "last", "hidden_feedback": hidden_feedback, "closed": False, "late_days_now": 0,
        "leaderboard": False})


def _shown(capsys: pytest.CaptureFixture[str], lang: str, hidden_feedback: str = "after_due") -> str:
    course_submit._echo_view(StudentResult.model_validate(VIEW), _assignment(hidden_feedback), lang)
    return capsys.readouterr().out


def test_english_is_as_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    out = _shown(capsys, "en")
    assert "  Adjusted by your instructor: the checks gave 5, the score is 6/6" in out
    assert "    +1 on the exercise: neat code (prof, 2026-12-05)" in out
    assert "  + 2 hidden check(s), not shown yet\n" in out
    assert "Score on the checks shown: 4.5/6  (2 day(s) late: -25%; 6 before the penalty)" in out
    assert out.rstrip().endswith("2 hidden checks count toward your grade; their results are shown after the deadline.")


@pytest.mark.parametrize("hidden_feedback", ["after_due", "never"])
def test_chinese_has_no_english_sentence_of_ours(capsys: pytest.CaptureFixture[str], hidden_feedback: str) -> None:
    out = _shown(capsys, "zh", hidden_feedback)
    for english in ("Adjusted by", "the exercise", "hidden check", "not shown", "Score", "late", "penalty",
                    "deadline", "instructor"):
        assert english not in out, (english, out)
    assert "教师调整了分数：检查得分为 5，现为 6/6" in out
    assert "总分（仅计已显示的检查）：4.5/6（迟交 2 天：扣除 25%；扣分前为 6）" in out
    assert ("其结果不会显示" if hidden_feedback == "never" else "截止时间之后") in out.splitlines()[-1]
    assert "neat code" in out  # the instructor's own words are kept as written


def test_every_upload_line_is_in_both_languages_with_the_same_blanks() -> None:
    import string

    from nnlab.i18n_course import COURSE_MESSAGES

    for key, table in COURSE_MESSAGES.items():
        blanks = [{name for _, name, _, _ in string.Formatter().parse(text) if name} for text in table.values()]
        assert set(table) == {"en", "zh"} and blanks[0] == blanks[1], key

"""`nnlab status` lists assignments and uploads in the student's language."""
from __future__ import annotations

from typing import Any

import pytest

from nnlab.commands.course_remote import echo_status
from nnlab.course.schemas import AssignmentInfo, Submission

AFTER_DUE = "count toward your grade; their results are shown after the deadline"


def _assignment(counts: str, hidden_feedback: str = "after_due", **more: Any) -> AssignmentInfo:
    return AssignmentInfo.model_validate({
        "id": "hw1", "title": "Activations", "exercises": ["leaky_relu", "activations"],
        "due": "2026-12-10T23:59:00+08:00", "late_until": "2026-12-13T23:59:00+08:00",
        "late_penalty_per_day": 0.1, "attempts_per_hour": 5, "counts": counts,
        "hidden_feedback": hidden_feedback, "closed": False, "late_days_now": 2, "leaderboard": False,
        "attempts_left": 3, **more})


def _upload(ident: str, status: str, score: float | None, hidden: int = 0) -> Submission:
    result = None if score is None else {
        "student": "ada", "score": score, "max_score": 6.0, "raw_score": score, "late_days": 1,
        "late_penalty": 0.1, "hidden_checks": hidden,
        "hidden_note": f"{hidden} hidden checks {AFTER_DUE}" if hidden else "",
        "confinement": "full", "device": "cpu", "nnlab_version": "0", "graded_at": "2026-12-11T10:00:00+00:00",
        "exercises": []}
    return Submission.model_validate({
        "id": ident, "student": "ada", "assignment": "hw1", "status": status,
        "submitted_at": "2026-12-11T09:30:00+08:00", "late_days": 1, "files": ["leaky_relu.py"],
        "result": result, "score": score, "max_score": None if score is None else 6.0})


UPLOADS = [_upload("s1", "done", 4.5, hidden=2), _upload("s2", "queued", None), _upload("s3", "error", None)]


def _listed(capsys: pytest.CaptureFixture[str], lang: str, counts: str = "last", **more: Any) -> str:
    echo_status([_assignment(counts, **more)], UPLOADS, lang)
    return capsys.readouterr().out


def test_english_is_as_it_was(capsys: pytest.CaptureFixture[str]) -> None:
    assert _listed(capsys, "en").splitlines() == [
        "hw1: Activations  [late (2 day(s)), 3 attempt(s) left this hour]",
        "  due 2026-12-10 23:59 +08:00, accepted until 2026-12-13 23:59; exercises leaky_relu, activations",
        "  2026-12-11 09:30  s1  4.5/6, 1 day(s) late (2 hidden checks "
        f"{AFTER_DUE})  <- counts",
        "  2026-12-11 09:30  s2  queued, 1 day(s) late",
        "  2026-12-11 09:30  s3  error, 1 day(s) late",
        "  your last graded upload counts (each upload replaces the whole submission)",
    ]
    echo_status([_assignment("last", closed=True, late_days_now=0)], [], "en")
    assert capsys.readouterr().out.splitlines()[1:] == [
        "  due 2026-12-10 23:59 +08:00, accepted until 2026-12-13 23:59; exercises leaky_relu, activations",
        "  no submissions yet"]


@pytest.mark.parametrize("counts", ["last", "best"])
@pytest.mark.parametrize("hidden_feedback", ["after_due", "never"])
def test_chinese_has_no_english_sentence_of_ours(capsys: pytest.CaptureFixture[str], counts: str,
                                                 hidden_feedback: str) -> None:
    out = _listed(capsys, "zh", counts, hidden_feedback=hidden_feedback)
    for english in ("late", "attempt", "due", "accepted", "exercises", "hidden", "deadline", "queued",
                    "error", "counts", "upload", "instructor", "day("):
        assert english not in out, (english, out)
    assert "迟交 2 天" in out and "本小时还可提交 3 次" in out
    assert ("其结果不会显示" if hidden_feedback == "never" else "截止时间之后显示") in out
    assert "排队中" in out and "评分出错" in out
    assert "Activations" in out and "leaky_relu, activations" in out  # names stay as they are
    echo_status([_assignment(counts, closed=True, late_days_now=0)], [], "zh")
    assert capsys.readouterr().out.splitlines()[-1] == "  尚无提交"

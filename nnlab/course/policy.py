"""Course rules: the server's clock, late days and penalty, which submission counts, what students see."""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nnlab.course.config import Assignment
from nnlab.results import CheckResult, ExerciseResult, SubmissionResult
from nnlab.review.adjustments import AdjustmentRow, Unmatched, apply_adjustments

FAKE_NOW_ENV = "NNLAB_FAKE_NOW"
"""Test hook: the server's clock starts at this ISO 8601 instant (with an offset) and runs on
from there, so deadline tests need no waiting. Never set it on a real course server."""

_started = time.monotonic()


def server_now() -> dt.datetime:
    """The server's clock, which alone decides lateness (a student's clock is never asked)."""
    from nnlab.settings import read_settings

    start = read_settings("fake_now").fake_now  # an aware instant: nnlab.settings refuses one without offset
    if start is None:
        return dt.datetime.now(dt.timezone.utc)
    return start + dt.timedelta(seconds=time.monotonic() - _started)


def late_days(now: dt.datetime, assignment: Assignment) -> int:
    """Started days past the due date: one minute late is one day late."""
    seconds = (now - assignment.due).total_seconds()
    return max(0, math.ceil(seconds / 86400))


def late_factor(days: int, per_day: float) -> float:
    """What is left of a score `days` started days late at `per_day` (a fraction) a day; never below zero."""
    return max(0.0, 1.0 - per_day * days)


def penalty_factor(days: int, assignment: Assignment) -> float:
    """What is left of a score after the assignment's late penalty."""
    return late_factor(days, assignment.late_penalty_per_day)


def is_closed(now: dt.datetime, assignment: Assignment) -> bool:
    return now > assignment.late_until


_MICRO = 1_000_000
"""Scores are kept to six decimals: one point is a million units."""


def penalized(result: SubmissionResult, factor: float) -> SubmissionResult:
    """The result with every check's points and every adjustment's change scaled, so exercise
    scores and the total agree: the late penalty applies to the adjusted score, as it would to
    a score the checks had given (an adjustment's points stay as the instructor wrote them).

    The total is exactly the student's shown score, `shown_score(result.score, factor)`: each
    scaled value is cut to whole millionths and the millionths the cuts lost go, one each, to
    the values that lost most (rounding each on its own let three checks of 1/3 point at 90 %
    sum to 0.9 where the student was shown 0.899999). A value of zero stays zero."""
    if factor >= 1.0:
        return result
    exact = [value * factor for ex in result.exercises
             for value in [*(c.score for c in ex.checks), *(a.change for a in ex.adjustments)]]
    units = _apportioned(exact, round(shown_score(result.score, factor) * _MICRO))
    scaled = iter(u / _MICRO for u in units)
    exercises = tuple(
        dataclasses.replace(
            ex,
            checks=tuple(dataclasses.replace(c, score=next(scaled)) for c in ex.checks),
            adjustments=tuple(dataclasses.replace(a, change=next(scaled)) for a in ex.adjustments))
        for ex in result.exercises)
    return dataclasses.replace(result, exercises=exercises)


def _apportioned(exact: Sequence[float], total: int) -> list[int]:
    """`exact` in whole millionths, summing to `total` where the non-zero values allow: each cut
    down, then a unit more for the largest remainders (or one less for the smallest, should the
    cuts overshoot), at most one a value."""
    micro = [x * _MICRO for x in exact]
    units = [math.floor(m) for m in micro]
    movable = sorted((i for i, m in enumerate(micro) if m != 0.0), key=lambda i: (units[i] - micro[i], i))
    left = total - sum(units)
    for i in (movable[:left] if left > 0 else movable[::-1][:-left]):
        units[i] += 1 if left > 0 else -1
    return units


@dataclass(frozen=True)
class Counted:
    """One student's grade: the graded result with the instructor's adjustments, and the late penalty."""

    adjusted: SubmissionResult
    """The graded result with the adjustments applied, before the late penalty."""
    factor: float
    """What the late penalty leaves (1.0 when on time)."""

    @property
    def shown(self) -> float:
        """The score its student is shown, and what counts = "best" compares (`shown_score`)."""
        return shown_score(self.adjusted.score, self.factor)

    @property
    def final(self) -> SubmissionResult:
        """The grade that counts (scores.csv, canvas.csv): adjusted, then penalized."""
        return penalized(self.adjusted, self.factor)


def apply_gradebook(results: Sequence[SubmissionResult], rows: Sequence[AdjustmentRow],
                    late: Mapping[str, int], per_day: float) -> tuple[list[Counted], list[Unmatched]]:
    """The one gradebook arithmetic, for the course server and `nnlab grade` alike: each result's
    adjustments applied in order (clamped to the exercise's points), then its late penalty
    (`late` maps a student to their late days; absent is on time). Same order as `results`,
    and every row that matched nothing."""
    adjusted, unmatched = apply_adjustments(results, rows)
    return [Counted(r, late_factor(late.get(r.student or "", 0), per_day)) for r in adjusted], unmatched


def shown_score(adjusted: float, factor: float) -> float:
    """An upload's score as its student is shown it: the graded score with the instructor's
    adjustments, after the late penalty (`factor`, what the penalty leaves)."""
    return round(adjusted * factor, 6)


def counted_index(count: int, counts: str, shown: Callable[[int], float]) -> int | None:
    """Which of a student's `count` graded uploads (0 .. count - 1, in upload order) is the grade:
    for "last" the last; for "best" the highest `shown(i)`, the later on a tie. The one rule for
    the gradebook, the exports, the pages and the student's own `nnlab status`.

    `shown(i)` is upload i's `shown_score`: adjusted, then penalized. Adjustments name a student's
    exercise or check, never an upload, so they apply to every upload, and "best" must compare
    the grades the uploads would give; compared before the adjustments, an override could leave
    the student counted on an upload worth less than another, and told otherwise. `shown` is
    called for "best" only (the gradebook reads a result only when it must)."""
    if count <= 0:
        return None
    if counts == "best":
        return max(range(count), key=lambda i: (shown(i), i))
    return count - 1


def hidden_shown(assignment: Assignment, now: dt.datetime) -> bool:
    """Whether students may see their hidden checks now."""
    if assignment.hidden_feedback == "immediate":
        return True
    return assignment.hidden_feedback == "after_due" and now >= assignment.due


def hidden_note(count: int, assignment: Assignment) -> str:
    if not count:
        return ""
    noun = "hidden check" if count == 1 else "hidden checks"
    if assignment.hidden_feedback == "never":
        return f"{count} {noun} count toward your grade; their results are not shown"
    # Graded with every upload, like the others: only their results wait for the deadline.
    return f"{count} {noun} count toward your grade; their results are shown after the deadline"


def _visible_exercise(ex: ExerciseResult) -> tuple[dict[str, Any], int]:
    visible = [c for c in ex.checks if c.visibility.value == "visible"]
    # An exercise not handed in has no hidden check waiting to be graded: it is not counted.
    hidden = len(ex.checks) - len(visible) if ex.submitted else 0
    data = {"id": ex.id, "title": ex.title, "score": round(sum(c.score for c in visible), 6),
            "max_score": round(sum(c.max_score for c in visible), 6), "note": ex.note,
            "submitted": ex.submitted, "checks": [_check_json(c) for c in visible],
            "hidden_checks": hidden}
    if ex.adjustments:
        data["full_score_adjustments"] = _full_score_adjustments(ex, {c.test_id for c in visible})
    return data, hidden


def _full_score_adjustments(ex: ExerciseResult, visible: set[str]) -> list[dict[str, Any]]:
    """The instructor's adjustments while hidden checks are withheld: each as written, with its
    reason. What one changed would tell the score the hidden checks gave, and a hidden check's
    id what it tests, so neither is shown."""
    shown = []
    for adjustment in ex.adjustments:
        data = adjustment.to_json()
        del data["change"]
        if adjustment.check and adjustment.check not in visible:
            data.update(check=None, hidden_check=True)
        shown.append(data)
    return shown


def _check_json(check: CheckResult) -> dict[str, Any]:
    data = check.to_json()
    data.pop("duration_s", None)
    return data


def student_view(result: SubmissionResult, assignment: Assignment, now: dt.datetime,
                 days: int) -> dict[str, Any]:
    """The result as its student may see it: hidden checks counted, never described, until allowed.

    Check scores stay as graded; the late penalty is applied to the totals shown. Instructor
    adjustments (already applied to `result`) are shown with their reasons: in the scores once
    hidden checks are shown, else as `full_score_adjustments` beside the score on the checks shown.
    """
    factor = penalty_factor(days, assignment)
    if hidden_shown(assignment, now):
        exercises = [{**ex.to_json(), "checks": [_check_json(c) for c in ex.checks],
                      "hidden_checks": 0} for ex in result.exercises]
        hidden, raw, maximum = 0, result.score, result.max_score
    else:
        pairs = [_visible_exercise(ex) for ex in result.exercises]
        exercises = [p[0] for p in pairs]
        hidden = sum(p[1] for p in pairs)
        raw = round(sum(e["score"] for e in exercises), 6)
        maximum = round(sum(e["max_score"] for e in exercises), 6)
    return {"student": result.student, "score": shown_score(raw, factor), "max_score": maximum,
            "raw_score": raw, "late_days": days, "late_penalty": round(1.0 - factor, 6),
            "hidden_checks": hidden, "hidden_note": hidden_note(hidden, assignment),
            "exercises": exercises, "confinement": result.confinement.describe(),
            "device": result.device, "nnlab_version": result.nnlab_version,
            "graded_at": result.graded_at}

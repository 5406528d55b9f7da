"""`nnlab adjust`: the instructor adds a score adjustment, with its reason, on the course server."""
from __future__ import annotations

import dataclasses
import urllib.parse
from dataclasses import dataclass
from typing import Any

import click

from nnlab.course.client import CourseClient, ServerError
from nnlab.course.schemas import AdjustmentAdded
from nnlab.errors import UsageError
from nnlab.results import Kind
from nnlab.review.adjustments import given_kinds, parse_points


@dataclass(frozen=True)
class AdjustOptions:
    """What `nnlab adjust` was asked to do."""

    assignment: str | None
    """The assignment id (required; None when the option was not given)."""
    student: str | None
    """The student id, as on the roster (required)."""
    exercise: str | None
    """The exercise id (required)."""
    check: str | None
    """A check's test id; None for the exercise as a whole."""
    delta: str | None
    """Points to add (negative to take away), as typed."""
    override: str | None
    """The points to set, as typed."""
    reason: str | None
    """Why (required): the student sees it."""


def _request(options: AdjustOptions) -> dict[str, Any]:
    """The POST body; every missing or contradictory option is one UsageError line."""
    for name in ("assignment", "student", "exercise"):
        if not (getattr(options, name) or "").strip():
            raise UsageError(f"--{name} is required")
    given = given_kinds(dataclasses.asdict(options))
    if len(given) != 1:
        raise UsageError("give exactly one of --delta POINTS (negative to take away) or --override POINTS")
    if not (options.reason or "").strip():
        raise UsageError("--reason TEXT is required: a changed grade must say why "
                         "(the student sees it beside their score)")
    body: dict[str, Any] = {"student": options.student, "exercise": options.exercise,
                            "reason": (options.reason or "").strip()}
    if options.check:
        body["check"] = options.check
    [kind] = given  # the option named after the kind holds its points, as the request's field does
    body[kind.value] = parse_points(getattr(options, kind.value) or "", f"--{kind.value}")
    return body


def _effect(added: AdjustmentAdded) -> str:
    """What the adjustment did to the student's counted score, or why it did nothing yet."""
    counted = added.counted
    if not added.applied or counted is None:
        return (f"Stored, but not applied yet: {added.unmatched}. The class report lists it "
                "under 'Needs a look' until it matches.")
    where = "" if counted.submission_id else " (no graded upload yet)"
    text = (f"{added.student}'s {added.exercise}{where}: {counted.original_score:g} from the "
            f"checks, {counted.adjusted_score:g}/{counted.max_score:g} with adjustments")
    if counted.late_penalty:
        text += f", {counted.score:g} after the {counted.late_penalty:.0%} late penalty"
    return text + "."


def add_adjustment(options: AdjustOptions) -> None:
    """Posts the adjustment with the instructor's token and says what it changed."""
    body = _request(options)
    client = CourseClient.from_config()
    path = f"/api/v1/assignments/{urllib.parse.quote(options.assignment or '', safe='')}/adjustments"
    try:
        added = client.post(path, body, AdjustmentAdded)
    except ServerError as error:
        if error.status == 403:
            raise UsageError("`nnlab adjust` needs the instructor's token "
                             "(NNLAB_TOKEN, or `nnlab login URL` with the instructor's token)") from None
        raise
    target = f", check {added.check}" if added.check else ""
    change = f"set to {added.points:g}" if added.kind is Kind.OVERRIDE else f"{added.points:+g}"
    click.echo(f"Adjustment #{added.id} ({added.assignment}, {added.student}, {added.exercise}"
               f"{target}): {change}, by {added.author} at {added.date}.")
    click.echo(f"Reason: {added.reason}")
    click.echo(_effect(added))

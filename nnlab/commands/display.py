"""Terminal rendering of results (stderr for progress, stdout for the verdict)."""
from __future__ import annotations

import click

from nnlab.i18n import message
from nnlab.results import ExerciseResult, Outcome, SubmissionResult

_MARKS = {
    Outcome.PASSED: ("PASS", "green"),
    Outcome.FAILED: ("FAIL", "red"),
    Outcome.ERROR: ("ERROR", "red"),
    Outcome.TIMEOUT: ("TIMEOUT", "yellow"),
    Outcome.SKIPPED: ("SKIP", "bright_black"),
}


def echo_exercise(result: ExerciseResult, err: bool = False, header: str | None = None) -> None:
    """`header` replaces the 'id: score/max' line (`nnlab check` says what its points cover)."""
    if not result.submitted:
        # One line, not the same "was not submitted" under every check.
        click.echo(click.style(f"{result.id}: not submitted", bold=True)
                   + click.style(f" (0/{result.max_score:g})", fg="bright_black"), err=err)
        return
    header = header if header is not None else f"{result.id}: {result.score:g}/{result.max_score:g}"
    click.echo(click.style(header, bold=True), err=err)
    for check in result.checks:
        mark, colour = _MARKS[check.outcome]
        points = f"{check.score:g}/{check.max_score:g}"
        hidden = " (hidden)" if check.visibility.value == "hidden" else ""
        click.echo(f"  {click.style(f'{mark:<7}', fg=colour)} {points:>7}  {check.name}{hidden}", err=err)
        if check.outcome is not Outcome.PASSED and check.message:
            for line in check.message.splitlines()[:12]:
                click.echo(f"{'':19}{line}", err=err)
        elif check.timing is not None:  # a passed speed check: how close it came
            t = check.timing
            click.echo(f"{'':19}ratio {t.ratio:.2f}x (limit {t.threshold:g}x, spread "
                       f"{t.spread:.0%}) on {t.device.split(';')[0]}", err=err)
    click.echo(err=err)


def echo_summary(result: SubmissionResult, err: bool = False, lang: str = "en") -> None:
    click.echo(message("submit.score", lang, score=result.score, max_score=result.max_score), err=err)
    click.echo(message("submit.seed", lang, seed=result.seed,
                       confinement=result.confinement.describe()), err=err)

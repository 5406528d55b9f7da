"""Terminal rendering of results (stderr for progress, stdout for the verdict)."""
from __future__ import annotations

import click

from nnlab.i18n import check_titles, confinement_text, message, pad, translate_failure
from nnlab.results import ExerciseResult, Outcome, SubmissionResult

_MARKS = {
    Outcome.PASSED: ("result.passed", "green"),
    Outcome.FAILED: ("result.failed", "red"),
    Outcome.ERROR: ("result.error", "red"),
    Outcome.TIMEOUT: ("result.timeout", "yellow"),
    Outcome.SKIPPED: ("result.skipped", "bright_black"),
}


def echo_exercise(result: ExerciseResult, err: bool = False, header: str | None = None,
                  lang: str = "en") -> None:
    """`header` replaces the 'id: score/max' line (`nnlab check` says what its points cover).
    In `lang`: the labels, the check titles and the checks' common failure phrasing."""
    if not result.submitted:
        # One line, not the same "was not submitted" under every check.
        click.echo(click.style(message("result.not_submitted", lang, id=result.id), bold=True)
                   + click.style(f" (0/{result.max_score:g})", fg="bright_black"), err=err)
        return
    header = header if header is not None else f"{result.id}: {result.score:g}/{result.max_score:g}"
    click.echo(click.style(header, bold=True), err=err)
    titles = check_titles(result.id, lang)
    for check in result.checks:
        key, colour = _MARKS[check.outcome]
        mark = pad(message(key, lang), 7)  # the labels line up in columns, CJK ones too
        points = f"{check.score:g}/{check.max_score:g}"
        hidden = message("result.hidden", lang) if check.visibility.value == "hidden" else ""
        title = titles.get(check.test_id, check.name)
        click.echo(f"  {click.style(mark, fg=colour)} {points:>7}  {title}{hidden}", err=err)
        if check.outcome is not Outcome.PASSED and check.message:
            for line in translate_failure(check.message, lang).splitlines()[:12]:
                click.echo(f"{'':19}{line}", err=err)
        elif check.timing is not None:  # a passed speed check: how close it came
            t = check.timing
            click.echo(f"{'':19}" + message("result.timing", lang, ratio=t.ratio, limit=t.threshold,
                                            spread=t.spread, device=t.device.split(';')[0]), err=err)
    click.echo(err=err)


def echo_summary(result: SubmissionResult, err: bool = False, lang: str = "en") -> None:
    click.echo(message("submit.score", lang, score=result.score, max_score=result.max_score), err=err)
    confinement = confinement_text(result.confinement.level, result.confinement.applied,
                                   result.confinement.missing, lang)
    click.echo(message("submit.seed", lang, seed=result.seed, confinement=confinement), err=err)

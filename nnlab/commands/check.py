"""`nnlab check`: the public checks only, for fast feedback while working."""
from __future__ import annotations

from pathlib import Path

import click

from nnlab.commands.display import echo_exercise
from nnlab.commands.session_setup import grading_launcher
from nnlab.grader.pipeline import GradeRequest, grade_submission
from nnlab.results import Outcome


def check_submission(path: Path, seed: int | None, lang: str | None = None) -> int:
    """Exit status: 0 when every public check passes, 1 otherwise."""
    with grading_launcher() as launcher:
        result = grade_submission(GradeRequest(path, include_hidden=False, seed=seed), launcher)
    for exercise in result.exercises:
        echo_exercise(exercise)
    failing = sum(1 for e in result.exercises for c in e.checks if c.outcome is not Outcome.PASSED)
    if failing:
        click.echo(f"{failing} public check(s) not passing. Hidden checks run on `nnlab submit`.")
        return 1
    click.echo("All public checks pass. Hidden checks run on `nnlab submit`.")
    return 0

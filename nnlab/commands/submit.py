"""`nnlab submit`: every check, public and hidden, on this machine; or an upload to the course server."""
from __future__ import annotations

import json
from pathlib import Path

import click

from nnlab.commands.display import echo_exercise, echo_summary
from nnlab.commands.session_setup import (grading_launcher, preflight, start_fork_server_early,
                                          warm_grader)
from nnlab.errors import UsageError
from nnlab.i18n import message, resolve_language
from nnlab.grader.exercise import is_student_kit


def submit_submission(path: Path, as_json: bool, report: Path | None, seed: int | None,
                      student: str | None = None, assignment: str | None = None, wait: bool = True,
                      lang: str | None = None, assume_yes: bool = False) -> None:
    """Only --assignment uploads; without it, grading stays on this machine and spends no attempt."""
    if assignment is not None:
        from nnlab.commands.course_submit import remote_submit

        if seed is not None:
            raise UsageError(message("submit.seed_remote", resolve_language(lang)))
        remote_submit(path, assignment, wait, as_json, report, assume_yes, resolve_language(lang))
        return
    if is_student_kit():
        from nnlab.commands.course_submit import kit_local_submit

        kit_local_submit(path, as_json, report, seed, student,
                         resolve_language(lang))  # a bad NNLAB_LANG is refused before grading
        return
    language = resolve_language(lang)  # a bad NNLAB_LANG is refused before grading, not after
    preflight(path)
    # This user's warm grader runs the very same command, on this terminal, when one answers.
    args = ["submit", str(path), *(["--json"] if as_json else []),
            *(["--report", str(report)] if report is not None else []),
            *(["--seed", str(seed)] if seed is not None else []),
            *(["--student", student] if student is not None else []),
            *(["--lang", lang] if lang else [])]
    with warm_grader(args) as answered:
        if answered is None:
            _submit_here(path, as_json, report, seed, student, language)
        elif answered:
            raise SystemExit(answered)


def _submit_here(path: Path, as_json: bool, report: Path | None, seed: int | None,
                 student: str | None, language: str) -> None:
    start_fork_server_early()  # boots beside the grader's own torch import
    from nnlab.grader.pipeline import GradeRequest, grade_student

    with grading_launcher() as launcher:
        result = grade_student(
            GradeRequest(path, student=student, include_hidden=True, seed=seed), launcher,
            on_exercise=lambda r: click.echo(message("submit.progress", language, id=r.id, score=r.score,
                                                     max_score=r.max_score), err=True)
            if as_json else None)
    if report is not None:
        from nnlab.reports import write_student_report

        write_student_report(result, report, lang=language)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    for exercise in result.exercises:
        echo_exercise(exercise, lang=language)
    echo_summary(result, lang=language)
    if report is not None:
        click.echo(message("submit.report", language, path=report))

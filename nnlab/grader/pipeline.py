"""Grading as explicit steps: read, parse, scan for banned APIs, run the checks, score."""
from __future__ import annotations

import ast
import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from nnlab import __version__
from nnlab.grader.banned import find_banned
from nnlab.grader.exercise import Exercise, load_catalogue
from nnlab.grader.launcher import WorkerLauncher
from nnlab.results import Confinement, ExerciseResult, Outcome, SubmissionResult
from nnlab.grader.runner import failed_everywhere, run_checks, timing_device
from nnlab.grader.timing import describe_device
from nnlab.grader.submission import collect


def new_seed() -> int:
    """A secret per-run seed; recorded in the results so an instructor can reproduce."""
    return secrets.randbits(62)


def _syntax_problem(source: str, filename: str) -> str:
    try:
        ast.parse(source, filename=filename)
    except SyntaxError as exc:
        return f"{filename} does not parse: {exc.msg} at line {exc.lineno}"
    except ValueError as exc:  # e.g. null bytes
        return f"{filename} does not parse: {exc}"
    return ""


def unrunnable(exercise: Exercise, include_hidden: bool, outcome: Outcome, note: str,
               submitted: bool = True) -> ExerciseResult:
    """Every check with the same verdict and the reason: a file that cannot run scores zero."""
    checks = failed_everywhere(exercise, include_hidden, outcome, note)
    max_score = sum(c.points for c in exercise.checks_for(include_hidden))
    return ExerciseResult(exercise.id, exercise.title, checks, max_score, note, submitted)


@dataclass(frozen=True)
class ExerciseGrading:
    """One file graded, with what only the grader's own users need beside the result."""

    result: ExerciseResult
    """What the student and the reports see."""
    confinement: Confinement | None = None
    """What the worker's confinement achieved (None: no worker ran)."""
    internal_errors: tuple[str, ...] = ()
    """Test ids of the checks that failed because of the grader or the check itself."""


def grade_file(exercise: Exercise, source: str | None, filename: str, launcher: WorkerLauncher,
               seed: int, include_hidden: bool, problem: str = "") -> ExerciseGrading:
    """One student's file for one exercise, every step; a file that cannot run scores zero with
    the reason."""
    max_score = sum(c.points for c in exercise.checks_for(include_hidden))

    def whole(outcome: Outcome, note: str) -> ExerciseGrading:
        return ExerciseGrading(unrunnable(exercise, include_hidden, outcome, note))

    if source is None:
        return whole(Outcome.ERROR, problem or f"{filename} could not be read")
    syntax = _syntax_problem(source, filename)
    if syntax:
        return whole(Outcome.ERROR, syntax)
    violations = find_banned(source, exercise.banned)
    if violations:
        listed = "; ".join(v.describe() for v in violations[:5])
        return whole(Outcome.FAILED, f"banned API in {filename}: {listed}")
    run = run_checks(exercise, source, filename, launcher, seed, include_hidden)
    return ExerciseGrading(ExerciseResult(exercise.id, exercise.title, run.results, max_score),
                           run.confinement, run.internal_errors)


def _confinement(seen: Confinement | None, launcher: WorkerLauncher) -> Confinement:
    if seen is not None:
        return seen
    if launcher.limits is None:
        return Confinement("none", (), ("disabled",))
    from nnlab.worker.sandbox import probe

    return probe()


@dataclass(frozen=True)
class GradeRequest:
    """What to grade and how."""

    path: Path
    student: str | None = None
    include_hidden: bool = True
    seed: int | None = None
    exercise_ids: tuple[str, ...] | None = None
    """Grade only these exercises (missing files count zero); None: the files present."""


def grade_student(request: GradeRequest, launcher: WorkerLauncher,
                  on_exercise: Callable[[ExerciseResult], None] | None = None) -> SubmissionResult:
    """One student's file or folder of `ID.py` files, every exercise asked for, in this process."""
    catalogue = load_catalogue()
    seed = request.seed if request.seed is not None else new_seed()
    files = {f.exercise_id: f for f in collect(request.path, catalogue)}
    wanted = request.exercise_ids if request.exercise_ids is not None else tuple(files)
    results: list[ExerciseResult] = []
    confinement_seen: Confinement | None = None
    for exercise in catalogue:
        if exercise.id not in wanted:
            continue
        file = files.get(exercise.id)
        if file is None:
            result, seen = unrunnable(exercise, request.include_hidden, Outcome.SKIPPED,
                                      f"{exercise.id}.py was not submitted", submitted=False), None
        else:
            graded = grade_file(exercise, file.source, f"{exercise.id}.py", launcher, seed,
                                request.include_hidden, file.problem)
            seen = graded.confinement
            # notebook cells and left-out lines, as the student sees them
            result = file.annotate(graded.result)
        confinement_seen = confinement_seen or seen
        results.append(result)
        if on_exercise is not None:
            on_exercise(result)
    return SubmissionResult(
        student=request.student,
        exercises=tuple(results),
        seed=seed,
        confinement=_confinement(confinement_seen, launcher),
        device=describe_device(timing_device()),
        nnlab_version=__version__,
        graded_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )

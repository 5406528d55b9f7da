"""`nnlab grade`: a whole class, students in parallel, then the class report."""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path

import click

from nnlab.errors import NnlabError, UsageError
from nnlab.grader.exercise import load_catalogue
from nnlab.results import SubmissionResult


def _students(class_dir: Path) -> list[Path]:
    if not class_dir.is_dir():
        raise UsageError(f"{class_dir}: not a folder (expected CLASS_DIR/<student>/<ID>.py)")
    students = sorted(p for p in class_dir.iterdir() if p.is_dir() and not p.is_symlink()
                      and not p.name.startswith("."))
    if not students:
        raise UsageError(f"{class_dir}: no student folders (expected CLASS_DIR/<student>/<ID>.py)")
    return students


def _submitted_ids(students: list[Path]) -> tuple[str, ...]:
    ids = {e.id for e in load_catalogue()}
    present = {p.stem for s in students for p in s.glob("*.py") if p.stem in ids}
    if not present:
        raise UsageError("no student folder holds a file named after an exercise (e.g. my_linear.py)")
    return tuple(e.id for e in load_catalogue() if e.id in present)


def grade_one_student(folder: str, exercise_ids: tuple[str, ...], seed: int) -> SubmissionResult:
    """Runs in a grading process; its launcher (and fork server) lives as long as the process."""
    from nnlab.grader.pipeline import GradeRequest, grade_submission

    global _LAUNCHER
    if _LAUNCHER is None:
        from nnlab.grader.launcher import WorkerLauncher

        _LAUNCHER = WorkerLauncher()
    path = Path(folder)
    return grade_submission(GradeRequest(path, student=path.name, seed=seed,
                                         exercise_ids=exercise_ids), _LAUNCHER)


_LAUNCHER = None


def _single_threaded() -> None:
    """Runs first in each parallel grading process: N graders x 2 torch threads each would
    oversubscribe the cores and make every check (and timing) slow and noisy."""
    os.environ["OMP_NUM_THREADS"] = "1"


def _broken_result(student: str, exercise_ids: tuple[str, ...], seed: int, why: str) -> SubmissionResult:
    """A student whose grading failed outright still appears, with zero and the reason."""
    import datetime as dt

    from nnlab import __version__
    from nnlab.grader.exercise import get_exercise
    from nnlab.grader.pipeline import unrunnable
    from nnlab.results import Confinement, Outcome

    exercises = [unrunnable(get_exercise(ex_id), True, Outcome.ERROR, why) for ex_id in exercise_ids]
    return SubmissionResult(student, tuple(exercises), seed, Confinement("none", ()), "", __version__,
                            dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class GradeOptions:
    """What `nnlab grade` was asked to do."""

    class_dir: Path
    out_dir: Path
    workers: int | None = None
    seed: int | None = None
    scheduler: str | None = None
    """A Dask scheduler address; None: $DASK_SCHEDULER_ADDRESS, else an embedded local cluster."""
    exercises: str | None = None
    """Comma-separated exercise ids, the exercise set for every student."""
    course_file: Path | None = None
    assignment: str | None = None
    regrade: bool = False
    adjustments: Path | None = None
    similarity: bool = True


def grade_class(options: GradeOptions) -> None:
    class_dir, out_dir, workers, seed = options.class_dir, options.out_dir, options.workers, options.seed
    from nnlab.grader.pipeline import new_seed
    from nnlab.reports import write_class_report

    students = _students(class_dir)
    exercise_ids = _submitted_ids(students)
    seed = seed if seed is not None else new_seed()
    workers = workers or min(4, os.cpu_count() or 1)
    workers = min(workers, len(students))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out_dir}: {exc.strerror}") from exc
    click.echo(f"Grading {len(students)} students x {len(exercise_ids)} exercises "
               f"with {workers} worker(s), seed {seed}", err=True)
    results: dict[str, SubmissionResult] = {}

    def record(student: str, result: SubmissionResult) -> None:
        results[student] = result
        click.echo(f"  [{len(results)}/{len(students)}] {student}: "
                   f"{result.score:g}/{result.max_score:g}", err=True)

    if workers == 1:
        for folder in students:
            try:
                record(folder.name, grade_one_student(str(folder), exercise_ids, seed))
            except NnlabError as exc:
                record(folder.name, _broken_result(folder.name, exercise_ids, seed, str(exc)))
    else:
        # Spawned, not forked: a grading process must not inherit torch's thread pools.
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context,
                                                    initializer=_single_threaded) as pool:
            futures = {pool.submit(grade_one_student, str(f), exercise_ids, seed): f.name
                       for f in students}
            for future in concurrent.futures.as_completed(futures):
                student = futures[future]
                try:
                    record(student, future.result())
                except Exception as exc:  # noqa: BLE001 - one student's failure must not stop the class
                    record(student, _broken_result(student, exercise_ids, seed,
                                                   f"grading failed: {type(exc).__name__}: {exc}"))
    ordered = [results[s.name] for s in students]
    write_class_report(ordered, exercise_ids, out_dir)
    click.echo(f"Wrote {out_dir / 'index.html'}, {out_dir / 'scores.csv'}, {out_dir / 'results.json'}")

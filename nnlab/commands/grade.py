"""`nnlab grade`: a whole class on the Dask engine, resumable, then the class report."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from nnlab.errors import UsageError
from nnlab.results import SubmissionResult

if TYPE_CHECKING:  # the engine (and Dask) are imported only when a run needs them
    from nnlab.course.collected import Gradebook
    from nnlab.engine import StudentJob
    from nnlab.engine.classroom import ExerciseSet
    from nnlab.engine.store import ResultStore
    from nnlab.reports.classview import ExtraSection

_STRAY_LINES = 20
"""Students named one per line in the warning about files that are not graded; then a count."""


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


@dataclass(frozen=True)
class _Plan:
    """Who is graded now and who keeps the result stored in OUT_DIR."""

    jobs: tuple[StudentJob, ...]
    """Students to grade: new, changed, previously lost, or all with --regrade."""
    keys: dict[str, str]
    """Each student's result key (digest of their files and the run)."""
    reused: dict[str, SubmissionResult]
    """Stored results that still hold, by student."""


def _warn_stray(stray: dict[str, list[str]], exercise_ids: tuple[str, ...]) -> None:
    """A file that matches no exercise of the set is not graded: say so, naming it."""
    for index, (student, names) in enumerate(sorted(stray.items())):
        if index == _STRAY_LINES:
            click.echo(f"warning: ... and {len(stray) - _STRAY_LINES} more student(s) with such files",
                       err=True)
            break
        click.echo(f"warning: {student}: {', '.join(names)} match(es) no exercise of the set "
                   f"({', '.join(exercise_ids)}) and will not be graded", err=True)


def _choose_seed(options: GradeOptions) -> int:
    from nnlab.engine.store import remembered_seed

    if options.seed is not None:
        return options.seed
    # Without --seed a re-run takes the seed of the run before it, or nothing could be reused.
    remembered = remembered_seed(options.out_dir)
    return remembered if remembered is not None else secrets.randbits(62)


def _plan(students: list[Path], exercise_ids: tuple[str, ...], seed: int, store: ResultStore,
          regrade: bool) -> _Plan:
    from nnlab.engine import StudentJob
    from nnlab.engine.files import read_student_files

    jobs: list[StudentJob] = []
    keys: dict[str, str] = {}
    reused: dict[str, SubmissionResult] = {}
    for folder in students:
        files = read_student_files(folder, exercise_ids)
        keys[folder.name] = key = store.key(files)
        stored = None if regrade else store.load(folder.name, key)
        if stored is not None and not stored.infrastructure_error:
            reused[folder.name] = stored.result
        else:
            jobs.append(StudentJob(folder, folder.name, exercise_ids, seed, files=files))
    return _Plan(tuple(jobs), keys, reused)


def _grade_jobs(plan: _Plan, options: GradeOptions,
                store: ResultStore) -> tuple[dict[str, SubmissionResult], list[str]]:
    """Grades the plan's jobs, storing each result at once; returns (results, students lost)."""
    from nnlab.engine import Graded, GradingEngine
    from nnlab.engine.progress import Progress

    results: dict[str, SubmissionResult] = {}
    lost: list[str] = []
    workers = min(options.workers or 0, len(plan.jobs)) or None

    def finished(graded: Graded) -> None:
        student = graded.job.student
        store.save(student, plan.keys[student], graded.result, graded.infrastructure_error)
        results[student] = graded.result
        if graded.infrastructure_error:
            lost.append(student)
        progress.student(student, graded.result.score, graded.result.max_score,
                         graded.infrastructure_error)

    try:
        exercise_ids = tuple(dict.fromkeys(e for job in plan.jobs for e in job.exercise_ids))
        with GradingEngine(workers, options.scheduler, exercise_ids) as engine, \
                Progress(len(plan.jobs)) as progress:
            if engine.address is None:
                click.echo(f"Starting {min(engine.workers, len(plan.jobs))} local Dask worker(s)",
                           err=True)
            else:
                click.echo(f"Grading on the Dask cluster at {engine.address}", err=True)
            engine.grade_many(plan.jobs, finished)
    except KeyboardInterrupt:
        left = len(plan.jobs) - len(results)
        click.echo(f"Interrupted: {len(results)} student(s) graded in this run are kept in "
                   f"{store.folder}; run the same command again to grade the {left} "
                   "left (--regrade grades everyone again).", err=True)
        raise
    return results, lost


def _similarity(options: GradeOptions, exercise_ids: tuple[str, ...]) -> list[ExtraSection]:
    """The class report's code-similarity section (and its pair pages), unless opted out."""
    if not options.similarity:
        return []
    from nnlab.reports.classview import ExtraSection
    from nnlab.review.pages import similarity_section

    section = similarity_section(options.class_dir, exercise_ids, options.out_dir, heading=False)
    return [ExtraSection("Code similarity", section)]


def _exercise_set(students: list[Path], options: GradeOptions, book: Gradebook | None) -> ExerciseSet:
    """--exercises or --course/--assignment when given; else a collected class's assignment."""
    from nnlab.engine.classroom import ExerciseSet, choose_exercises, parse_exercise_list

    if book is not None and options.assignment not in (None, book.assignment):
        raise UsageError(f"{options.class_dir} was collected for {book.assignment} (gradebook.json), "
                         f"not {options.assignment}: its late days and adjustments are {book.assignment}'s")
    if book is None or options.exercises is not None or options.course_file is not None:
        return choose_exercises(students, options.exercises, options.course_file, options.assignment)
    parse_exercise_list(",".join(book.exercises))  # an exercise this nnlab lacks fails before grading
    # The server's column order, so the CSVs line up with the server's own.
    return ExerciseSet(book.exercises, f"assignment {book.assignment} in gradebook.json")


def _read_gradebook(options: GradeOptions, students: list[Path]) -> Gradebook | None:
    """The collected class's gradebook.json, if any; says what it will apply."""
    from nnlab.course.collected import read_gradebook

    book = read_gradebook(options.class_dir)
    if book is None:
        return None
    absent = sorted({s.student for s in book.students} - {s.name for s in students})
    if absent:
        click.echo(f"warning: gradebook.json names {len(absent)} student(s) with no folder, who get no "
                   f"row: {', '.join(absent)}", err=True)
    late = sum(1 for s in book.students if s.late_days)
    click.echo(f"Applying gradebook.json ({book.assignment} from {book.server}): {late} late student(s) "
               f"at {book.late_penalty_per_day:g} per day, {len(book.adjustment_rows())} adjustment(s)",
               err=True)
    return book


def grade_class(options: GradeOptions) -> None:
    """Grades the class (only new or changed students unless --regrade), then writes the reports."""
    from nnlab.course.policy import apply_gradebook
    from nnlab.engine.classroom import list_students, stray_files
    from nnlab.engine.store import ResultStore, remember_run
    from nnlab.reports import LatePenalty, write_class_report
    from nnlab.review.adjustments import read_adjustments

    if options.course_file is not None:  # that course's exercises, in every Dask worker too
        from nnlab.course.repository import use_course

        use_course(options.course_file)
    students = list_students(options.class_dir)
    # Read before grading, so a typo in either file fails in a second, not after the class.
    book = _read_gradebook(options, students)
    adjustment_rows = read_adjustments(options.adjustments) if options.adjustments else []
    chosen = _exercise_set(students, options, book)
    _warn_stray(stray_files(students, chosen.ids), chosen.ids)
    try:
        options.out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {options.out_dir}: {exc.strerror}") from None
    seed = _choose_seed(options)
    remember_run(options.out_dir, seed, chosen.ids, chosen.source)
    store = ResultStore(options.out_dir, chosen.ids, seed)
    plan = _plan(students, chosen.ids, seed, store, options.regrade)
    click.echo(f"Grading {len(plan.jobs)} of {len(students)} students ({len(plan.reused)} unchanged, "
               f"reused) x {len(chosen.ids)} exercises: {', '.join(chosen.ids)} "
               f"({chosen.source}); seed {seed}", err=True)
    graded, lost = _grade_jobs(plan, options, store) if plan.jobs else ({}, [])
    results = {**plan.reused, **graded}
    # The stored results stay as graded: the gradebook (the server's adjustments and late days,
    # then the file's adjustments) applies on every run, so it survives a regrade.
    counted, unmatched = apply_gradebook(
        [results[s.name] for s in students], (book.adjustment_rows() if book else []) + adjustment_rows,
        book.late_days() if book else {}, book.late_penalty_per_day if book else 0.0)
    # The reports show the late penalty apart from what the checks gave; their CSVs apply it.
    days = book.late_days() if book else {}
    late = {c.adjusted.student or "": LatePenalty(days.get(c.adjusted.student or "", 0), c.factor)
            for c in counted if c.factor < 1.0}
    ordered = [c.adjusted for c in counted]
    for row in unmatched:
        click.echo(f"nnlab: warning: adjustment not applied: {row.describe()}", err=True)
    write_class_report(ordered, chosen.ids, options.out_dir, unmatched_adjustments=unmatched, late=late,
                       extra_sections=_similarity(options, chosen.ids))
    if lost:
        click.echo(f"{len(lost)} student(s) could not be graded (infrastructure error, scored zero): "
                   f"{', '.join(sorted(lost))}; run the same command again to retry them", err=True)
    out = options.out_dir
    from nnlab.reports.export import describe_outputs

    click.echo(f"Wrote {describe_outputs(out)}")

"""Click commands that grade on this machine, and its tools: list, start, check, submit, grade,
verify, demo, doctor."""
from __future__ import annotations

import sys
from pathlib import Path

import click

_LANG = click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
                     help="Language of statements and messages (default: $NNLAB_LANG, then the locale).")
_SEED = click.option("--seed", type=int, default=None,
                     help="Reproduce a run: the seed recorded in its results.")
_NO_DAEMON = click.option("--no-daemon", is_flag=True,
                          help="Grade in this process: no warm grader used or left behind "
                               "(also NNLAB_NO_DAEMON=1).")


def _want_daemon(no_daemon: bool) -> None:
    from nnlab.cli import running_as_program
    from nnlab.daemon.place import want_daemon

    want_daemon(running_as_program() and not no_daemon)


_EXERCISES = click.option("--exercises", default=None, metavar="ID,ID",
                          help="The exercise set (missing files score zero against the same maximum).")


def register(group: click.Group) -> None:
    """Adds the commands of one machine to the `nnlab` group (imports nothing heavy)."""

    @group.command("list")
    @_LANG
    @click.option("--all", "show_all", is_flag=True,
                  help="In a student kit: every exercise, not only the course's assignments.")
    def list_command(lang: str | None, show_all: bool) -> None:
        """Show the catalogue: id, title, unit, points, timing check (in a kit: the assignments)."""
        from nnlab.commands.catalogue import print_catalogue

        print_catalogue(lang, show_all)


    @group.command()
    @click.argument("exercise_id")
    @click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
                  help="Folder to write ID.py and ID.md into (default: the current folder).")
    @click.option("--force", is_flag=True, help="Overwrite existing files.")
    @_LANG
    @click.option("--notebook", is_flag=True, help="Write ID.ipynb (statement, stub cell, check cell).")
    def start(exercise_id: str, directory: Path | None, force: bool, lang: str | None,
              notebook: bool) -> None:
        """Write the stub DIR/ID.py and its statement DIR/ID.md."""
        from nnlab.commands.start import start_exercise

        start_exercise(exercise_id, directory, force, lang=lang, notebook=notebook)


    @group.command()
    @click.argument("path", type=click.Path(path_type=Path))
    @_SEED
    @_LANG
    @_NO_DAEMON
    def check(path: Path, seed: int | None, lang: str | None, no_daemon: bool) -> None:
        """Run the public checks on ID.py or a folder of them (exit 1 if one fails)."""
        from nnlab.commands.check import check_submission

        _want_daemon(no_daemon)

        sys.exit(check_submission(path, seed, lang=lang))


    @group.command()
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print the result object on stdout, nothing else.")
    @click.option("--report", type=click.Path(path_type=Path), default=None,
                  help="Also write an HTML report to this file.")
    @_SEED
    @click.option("--student", default=None, help="Your student id, shown in the report.")
    @click.option("--assignment", default=None,
                  help="Upload to the course server for this assignment (see `nnlab login`); "
                       "without it nothing is uploaded.")
    @click.option("--no-wait", is_flag=True, help="With --assignment: upload and return without waiting.")
    @click.option("--yes", "assume_yes", is_flag=True,
                  help="With --assignment: upload even if it lacks exercises your counted submission holds.")
    @_LANG
    @_NO_DAEMON
    def submit(path: Path, as_json: bool, report: Path | None, seed: int | None, student: str | None,
               assignment: str | None, no_wait: bool, assume_yes: bool, lang: str | None,
               no_daemon: bool) -> None:
        """Grade ID.py or a folder of them on this machine (in a student kit: the public checks);
        with --assignment, upload them to the course server as the whole submission."""
        from nnlab.commands.submit import submit_submission

        _want_daemon(no_daemon)

        submit_submission(path, as_json, report, seed, student=student, assignment=assignment,
                          wait=not no_wait, lang=lang, assume_yes=assume_yes)


    @group.command()
    @click.argument("class_dir", type=click.Path(path_type=Path))
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
                  help="Folder for index.html, students/*.html, scores.csv, results.json.")
    @click.option("--workers", type=click.IntRange(1, 256), default=None,
                  help="Local Dask worker processes (default: CPU count, at most 4).")
    @_SEED
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="An existing Dask cluster, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS, "
                       "else an embedded local cluster).")
    @_EXERCISES
    @click.option("--course", "course_file", type=click.Path(path_type=Path), default=None,
                  help="course.toml: take the exercise set from --assignment.")
    @click.option("--assignment", default=None, help="With --course: the assignment to grade.")
    @click.option("--regrade", is_flag=True, help="Grade every student again, not only new or changed ones.")
    @click.option("--adjustments", type=click.Path(path_type=Path), default=None,
                  help="adjustments.csv: instructor adjustments applied after grading.")
    @click.option("--no-similarity", is_flag=True, help="Leave the similarity section out of the class report.")
    def grade(class_dir: Path, out_dir: Path, workers: int | None, seed: int | None,
              scheduler: str | None, exercises: str | None, course_file: Path | None,
              assignment: str | None, regrade: bool, adjustments: Path | None,
              no_similarity: bool) -> None:
        """Batch-grade CLASS_DIR/<student>/<ID>.py and write the class report."""
        from nnlab.commands.grade import GradeOptions, grade_class

        grade_class(GradeOptions(
            class_dir=class_dir, out_dir=out_dir, workers=workers, seed=seed, scheduler=scheduler,
            exercises=exercises, course_file=course_file, assignment=assignment, regrade=regrade,
            adjustments=adjustments, similarity=not no_similarity))


    @group.command()
    @click.argument("exercise_ids", nargs=-1)
    @click.option("--mutate", is_flag=True,
                  help="Also grade generated mutants of each solution on the Dask engine and list "
                       "those that keep full marks (holes in the checks, or equivalents to mark in "
                       "mutants/equivalent.toml).")
    @click.option("--workers", type=click.IntRange(1, 256), default=None,
                  help="With --mutate: local Dask worker processes (default: CPU count, at most 4).")
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="With --mutate: an existing Dask cluster (default: $DASK_SCHEDULER_ADDRESS, "
                       "else an embedded local cluster).")
    def verify(exercise_ids: tuple[str, ...], mutate: bool, workers: int | None,
               scheduler: str | None) -> None:
        """Instructor self-test: solutions score full marks, stubs score zero."""
        from nnlab.commands.verify import verify_exercises
        from nnlab.errors import UsageError

        if not mutate and (workers is not None or scheduler is not None):
            raise UsageError("--workers and --scheduler choose where mutants are graded: "
                             "add --mutate, or leave them out")
        sys.exit(verify_exercises(exercise_ids, mutate, workers, scheduler))


    @group.command()
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("demo-out"),
                  show_default=True, help="Where to write the demo class report.")
    def demo(out_dir: Path) -> None:
        """Grade the bundled sample class and write its HTML reports."""
        from nnlab.commands.demo import run_demo

        run_demo(out_dir)


    @group.command()
    def doctor() -> None:
        """What this machine gives nnlab: Python, torch, CPU or CUDA, confinement, config, server."""
        from nnlab.commands.doctor import run_doctor

        run_doctor()

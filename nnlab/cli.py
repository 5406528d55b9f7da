"""The `nnlab` command group: thin wrappers that hand straight to nnlab.commands."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from nnlab.errors import NnlabError


_PROMPT_EXIT = {"check", "submit"}
"""Commands a student runs again and again: their program ends without torch's teardown."""
_as_program = False
"""True when run as the `nnlab` program (not invoked in-process, e.g. by click's CliRunner)."""


class _Group(click.Group):
    """Turns every NnlabError into one line on stderr and exit code 2, never a traceback."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: object) -> click.Context:
        # The command line's language, before click parses it: `--help` is answered while parsing.
        from nnlab.commands.localized_help import localize_help
        from nnlab.i18n import command_line_language

        lang = command_line_language(args)
        localize_help(self, lang)
        ctx = super().make_context(info_name, args, parent, **extra)  # type: ignore[arg-type]
        ctx.meta["nnlab.lang"] = lang
        return ctx

    def invoke(self, ctx: click.Context) -> object:
        from nnlab.i18n import message

        lang = ctx.meta.get("nnlab.lang", "en")
        try:
            result = super().invoke(ctx)
        except NnlabError as error:
            click.echo(message("cli.error", lang, error=error), err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo(message("cli.interrupted", lang), err=True)
            sys.exit(130)
        except SystemExit as done:
            _finish(ctx, done.code if isinstance(done.code, int) else 1)
            raise
        _finish(ctx, 0)
        return result


def _finish(ctx: click.Context, code: int) -> None:
    if _as_program and ctx.invoked_subcommand in _PROMPT_EXIT:
        from nnlab.commands.session_setup import exit_promptly

        exit_promptly(code)


def run() -> None:
    """The `nnlab` program (the console script, and `python -m nnlab.cli`)."""
    global _as_program
    _as_program = True
    main()


def _lang_for_every_command(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:  # `nnlab --lang zh CMD ...`: the default of CMD's own --lang
        ctx.default_map = {name: {"lang": value} for name in getattr(ctx.command, "commands", {})}


def _course_for_every_command(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    from nnlab.course.repository import export_course

    try:  # exported as NNLAB_COURSE: every process that grades for this command follows it
        ctx.call_on_close(export_course(value))  # an in-process run leaves the environment as it was
    except NnlabError as error:  # while parsing: click's usage errors, exit 2
        if value is None:
            raise click.UsageError(str(error)) from None
        raise click.BadParameter(str(error), param_hint="--course") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nnlab")
@click.option("--course", type=click.Path(path_type=Path), default=None, expose_value=False,
              callback=_course_for_every_command, metavar="PATH",
              help="The course repository (its folder or course.toml; default: $NNLAB_COURSE, "
                   "else course.toml in this folder or a parent).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None, expose_value=False,
              callback=_lang_for_every_command,
              help="Language of this help and of every command's messages (default: $NNLAB_LANG, "
                   "then the locale).")
def main() -> None:
    """nnlab: PyTorch exercises with automated, sandboxed grading.

    Students: `nnlab list`, `nnlab start ID`, `nnlab check ID.py`, `nnlab submit ID.py`
    (in a course: `nnlab login URL`, `nnlab submit PATH --assignment ID`, `nnlab status`).
    Instructors: `nnlab verify`, `nnlab grade CLASS_DIR --out OUT_DIR`, `nnlab similarity`;
    a course: `nnlab roster`, `nnlab serve`, `nnlab release`, `nnlab collect`, `nnlab adjust`.
    """


_LANG = click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
                     help="Language of statements and messages (default: $NNLAB_LANG, then the locale).")
_SEED = click.option("--seed", type=int, default=None,
                     help="Reproduce a run: the seed recorded in its results.")
_NO_DAEMON = click.option("--no-daemon", is_flag=True,
                          help="Grade in this process: no warm grader used or left behind "
                               "(also NNLAB_NO_DAEMON=1).")


def _want_daemon(no_daemon: bool) -> None:
    from nnlab.daemon.place import want_daemon

    want_daemon(_as_program and not no_daemon)


_EXERCISES = click.option("--exercises", default=None, metavar="ID,ID",
                          help="The exercise set (missing files score zero against the same maximum).")


@main.command("list")
@_LANG
@click.option("--all", "show_all", is_flag=True,
              help="In a student kit: every exercise, not only the course's assignments.")
def list_command(lang: str | None, show_all: bool) -> None:
    """Show the catalogue: id, title, unit, points, timing check (in a kit: the assignments)."""
    from nnlab.commands.catalogue import print_catalogue

    print_catalogue(lang, show_all)


@main.command()
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


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@_SEED
@_LANG
@_NO_DAEMON
def check(path: Path, seed: int | None, lang: str | None, no_daemon: bool) -> None:
    """Run the public checks on ID.py or a folder of them (exit 1 if one fails)."""
    from nnlab.commands.check import check_submission

    _want_daemon(no_daemon)

    sys.exit(check_submission(path, seed, lang=lang))


@main.command()
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


@main.command()
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


@main.command()
@click.argument("exercise_ids", nargs=-1)
def verify(exercise_ids: tuple[str, ...]) -> None:
    """Instructor self-test: solutions score full marks, stubs score zero."""
    from nnlab.commands.verify import verify_exercises

    sys.exit(verify_exercises(exercise_ids))


@main.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("demo-out"),
              show_default=True, help="Where to write the demo class report.")
def demo(out_dir: Path) -> None:
    """Grade the bundled sample class and write its HTML reports."""
    from nnlab.commands.demo import run_demo

    run_demo(out_dir)


@main.command()
def doctor() -> None:
    """What this machine gives nnlab: Python, torch, CPU or CUDA, confinement, config, server."""
    from nnlab.commands.doctor import run_doctor

    run_doctor()


# The course, the instructor's review tools and the exports
# live in their own command modules; each registers its commands here.
from nnlab.commands.course_cli import register as _register_course  # noqa: E402
from nnlab.commands.export_cli import register as _register_export  # noqa: E402
from nnlab.commands.new_cli import register as _register_new  # noqa: E402
from nnlab.commands.lti_cli import register as _register_lti  # noqa: E402
from nnlab.commands.review_cli import register as _register_review  # noqa: E402

_register_course(main)
_register_review(main)
_register_export(main)
_register_new(main)


def _course_on_every_command(group: click.Group) -> None:
    """`nnlab CMD --course PATH` works as `nnlab --course PATH CMD` (grade's own --course, its
    course.toml, puts that course in force too)."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _course_on_every_command(command)
        elif not any("--course" in getattr(p, "opts", ()) for p in command.params):
            command.params.append(click.Option(
                ["--course"], type=click.Path(path_type=Path), default=None, expose_value=False,
                callback=_course_for_every_command, metavar="PATH",
                help="The course repository, as `nnlab --course PATH`."))


_register_lti(main)
_course_on_every_command(main)  # after every registration: each command gets --course


if __name__ == "__main__":
    run()

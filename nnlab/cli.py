"""The `nnlab` command group: its global options, one-line errors, and the command families."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from nnlab.errors import NnlabError

if __name__ == "__main__":
    # `python -m nnlab.cli`: the command families import `nnlab.cli` (running_as_program); without
    # this they would load a second copy whose flag is never set, and the warm grader would be skipped.
    sys.modules.setdefault("nnlab.cli", sys.modules[__name__])

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
        ctx = super().make_context(info_name, args, parent, **extra)
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


def running_as_program() -> bool:
    """Whether this is the `nnlab` program, not an in-process invocation."""
    return _as_program


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


# The one place commands are declared: each family's click commands live in
# nnlab/commands/<family>_cli.py, and are added here, in this order.
from nnlab.commands import (course_cli, export_cli, grading_cli, lti_cli, new_cli,  # noqa: E402
                            review_cli)

COMMAND_FAMILIES = (grading_cli, course_cli, review_cli, export_cli, new_cli, lti_cli)
for _family in COMMAND_FAMILIES:
    _family.register(main)

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


_course_on_every_command(main)  # after every registration: each command gets --course


if __name__ == "__main__":
    run()

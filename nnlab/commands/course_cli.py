"""Click commands of a course: release, roster, serve, login, status, collect, adjust."""
from __future__ import annotations

from pathlib import Path

import click

_COURSE = click.argument("course_file", metavar="COURSE.toml", type=click.Path(path_type=Path))
_DATA = click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True,
                     help="The server's data folder: the SQLite database and submitted files.")


def register(group: click.Group) -> None:
    """Adds the course commands to the `nnlab` group (imports nothing heavy)."""

    @group.command()
    @_COURSE
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
                  help="Folder for the kit's wheel and a README for students.")
    @click.option("--server", default=None, metavar="URL", help="The course server the kit submits to.")
    def release(course_file: Path, out_dir: Path, server: str | None) -> None:
        """Write the student kit: stubs, statements and public checks only (verifies first)."""
        from nnlab.commands.course_server import release_kit

        release_kit(course_file, out_dir, server)

    @group.command()
    @_COURSE
    @_DATA
    @click.option("--import", "roster_file", type=click.Path(path_type=Path), default=None,
                  help="Roster CSV: a `student` column, optional `name` and `email`.")
    @click.option("--tokens-out", type=click.Path(path_type=Path), default=None,
                  help="New file for `student,role,token` of each new account (shown once).")
    @click.option("--revoke", multiple=True, metavar="STUDENT", help="Stop STUDENT's token working.")
    @click.option("--reissue", multiple=True, metavar="STUDENT",
                  help="Give STUDENT a new token (the old one stops working).")
    @click.option("--links", "links_out", type=click.Path(path_type=Path), default=None,
                  help="New file for `student,link`: a one-time browser sign-in link per student.")
    @click.option("--url", "base_url", default=None, metavar="URL",
                  help="The server's address as students open it (with --links).")
    @click.option("--lti", "from_lms", is_flag=True,
                  help="Pull the members of the LMS course (LTI names and roles) into accounts.")
    def roster(course_file: Path, data_dir: Path, roster_file: Path | None, tokens_out: Path | None,
               revoke: tuple[str, ...], reissue: tuple[str, ...], links_out: Path | None,
               base_url: str | None, from_lms: bool) -> None:
        """Add students (and the instructor account) and write their tokens once."""
        if from_lms:
            from nnlab.commands.lti_cli import pull_lti_roster

            pull_lti_roster(course_file, data_dir)
            if not (roster_file or revoke or reissue or links_out):
                return
        from nnlab.commands.course_server import RosterOptions, update_roster

        if roster_file or revoke or reissue or links_out is None:
            update_roster(RosterOptions(course_file, data_dir, roster_file, tokens_out, revoke, reissue))
        if links_out is not None:
            from nnlab.course.web.links import write_links

            written = write_links(data_dir, links_out, base_url or "")
            click.echo(f"{written} one-time sign-in link(s) written to {links_out} (readable by you only).")

    @group.command()
    @_COURSE
    @_DATA
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
    @click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
    @click.option("--workers", type=click.IntRange(1, 256), default=None,
                  help="Grading worker processes (default: the grading engine's).")
    @click.option("--scheduler", default=None, metavar="ADDRESS",
                  help="Grade on an existing Dask cluster, e.g. tcp://host:8786.")
    def serve(course_file: Path, data_dir: Path, host: str, port: int, workers: int | None,
              scheduler: str | None) -> None:
        """Run the course server: the HTTP API, SQLite in DATA_DIR, a persistent grading queue."""
        from nnlab.commands.course_server import serve_course

        serve_course(course_file, data_dir, host, port, workers, scheduler)

    _register_student_side(group)
    _register_review_side(group)


def _register_student_side(group: click.Group) -> None:
    """login, status and collect: the commands that talk to a course server."""

    @group.command()
    @click.argument("url")
    @click.option("--token-file", type=click.Path(path_type=Path), default=None,
                  help="Read your token from this file (default: asked for without echo, or stdin).")
    # Hidden and discouraged: a token in argv lands in shell history and `ps`; kept for old scripts.
    @click.option("--token", default=None, hidden=True)
    def login(url: str, token_file: Path | None, token: str | None) -> None:
        """Save the course server and your token (in a file only you can read).

        The token is asked for without echo on a terminal, else read from stdin
        (`nnlab login URL < token.txt`), or from --token-file PATH.
        """
        from nnlab.commands.course_remote import login_to

        login_to(url, token_file, token)

    @group.command()
    @click.option("--assignment", default=None, help="Only this assignment.")
    @click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
                  help="Language of statements and messages (default: $NNLAB_LANG, then the locale).")
    def status(assignment: str | None, lang: str | None) -> None:
        """Your submissions: time, late days, score shown, attempts left, due dates."""
        from nnlab.commands.course_remote import show_status
        from nnlab.i18n import resolve_language

        show_status(assignment, resolve_language(lang))

    @group.command()
    @click.option("--assignment", required=True, help="The assignment to collect.")
    @click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
                  help="CLASS_DIR: <student>/<ID>.py of each counted submission.")
    def collect(assignment: str, out_dir: Path) -> None:
        """Instructor: each student's counted submission into CLASS_DIR, ready for `nnlab grade`."""
        from nnlab.commands.course_remote import collect_class

        collect_class(assignment, out_dir)


def _register_review_side(group: click.Group) -> None:
    """adjust: the instructor changes one score on the course server, with a reason."""

    @group.command()
    @click.option("--assignment", default=None, help="The assignment (required).")
    @click.option("--student", default=None, help="The student id, as on the roster (required).")
    @click.option("--exercise", default=None, help="The exercise id (required).")
    @click.option("--check", "check_id", default=None, metavar="TEST_ID",
                  help="Only this check (its test id, e.g. test_forward); default: the whole exercise.")
    # Numbers are read by the command, not by click, so a typo is one line like every other error.
    @click.option("--delta", default=None, metavar="POINTS",
                  help="Points to add; negative to take away (e.g. --delta -2).")
    @click.option("--override", default=None, metavar="POINTS", help="The points to set.")
    @click.option("--reason", default=None, metavar="TEXT",
                  help="Why (required): the student sees it beside their score.")
    def adjust(assignment: str | None, student: str | None, exercise: str | None,
               check_id: str | None, delta: str | None, override: str | None,
               reason: str | None) -> None:
        """Instructor: change one student's score on the course server, with a reason.

        Adjustments are kept apart from the graded results and applied on every read (results,
        scores.csv, the class report, the student's own view), so they survive regrading.
        Needs the instructor's token (NNLAB_TOKEN or `nnlab login`).
        """
        from nnlab.commands.course_adjust import AdjustOptions, add_adjustment

        add_adjustment(AdjustOptions(assignment, student, exercise, check_id, delta, override, reason))

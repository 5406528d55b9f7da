"""The instructor's course commands: `nnlab release`, `nnlab roster`, `nnlab serve`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from nnlab.errors import NnlabError, UsageError


def _instructor_side(command: str) -> None:
    from nnlab.grader.exercise import is_student_kit

    if is_student_kit():
        raise UsageError(f"this is a student kit; `nnlab {command}` runs on the instructor's copy of nnlab")


def release_kit(course_file: Path, out_dir: Path, server: str | None) -> None:
    from nnlab.commands.verify import verify_exercises
    from nnlab.course.client import normalize_url
    from nnlab.course.config import load_course
    from nnlab.course.kit import build_kit
    from nnlab.course.repository import use_course

    _instructor_side("release")
    use_course(course_file)  # its own exercises, for the verification and the kit
    course = load_course(course_file)
    server = normalize_url(server) if server else None
    assigned = tuple(dict.fromkeys(ex for a in course.assignments for ex in a.exercises))
    click.echo(f"Verifying the {len(assigned)} assigned exercises first:", err=True)
    if verify_exercises(assigned) != 0:
        raise NnlabError("an assigned exercise failed `nnlab verify`; no kit written")
    wheel = build_kit(course, out_dir, server)
    click.echo(f"Student kit: {wheel} ({wheel.stat().st_size / 1e3:.0f} kB), with "
               f"{out_dir / 'README.txt'} for students.")
    click.echo("It holds stubs, statements and public checks only; no solution, hidden or timing check.")


@dataclass(frozen=True)
class RosterOptions:
    """What `nnlab roster` was asked to do."""

    course_file: Path
    data_dir: Path
    roster_file: Path | None
    """The CSV to import; None to only revoke or reissue."""
    tokens_out: Path | None
    """Where new tokens go; required whenever one is made."""
    revoke: tuple[str, ...] = ()
    reissue: tuple[str, ...] = ()


def update_roster(options: RosterOptions) -> None:
    from nnlab.course.accounts import new_token, read_roster, write_tokens
    from nnlab.course.config import load_course
    from nnlab.course.db import Database

    _instructor_side("roster")
    load_course(options.course_file)  # a broken course.toml is better found now than at `serve`
    entries = read_roster(options.roster_file) if options.roster_file else []
    if not entries and not options.revoke and not options.reissue and options.roster_file is None:
        raise UsageError("nothing to do: pass --import ROSTER.csv, --revoke STUDENT or --reissue STUDENT")
    if options.tokens_out is None and (options.roster_file or options.reissue):
        raise UsageError("--tokens-out TOKENS.csv is required: new tokens are shown only once")
    if options.tokens_out is not None and options.tokens_out.exists():
        raise UsageError(f"{options.tokens_out}: already exists; tokens are written once, pick a new name")
    db = Database(options.data_dir)
    created = db.add_accounts(entries, new_token)
    for student in options.reissue:
        token = new_token()
        if not db.set_token(student, token):
            raise UsageError(f"no account '{student}' to reissue a token for")
        created.append((student, "instructor" if student == "instructor" else "student", token))
    for student in options.revoke:
        if not db.set_token(student, None):
            raise UsageError(f"no account '{student}' to revoke")
        click.echo(f"Revoked the token of {student}.")
    if created and options.tokens_out is not None:
        write_tokens(options.tokens_out, created)
        click.echo(f"{len(created)} new token(s) written to {options.tokens_out} (readable by you only); "
                   "hand each out and keep the file safe: the server keeps only hashes.")
    elif options.roster_file:
        click.echo("No new students: every one on the roster already has an account.")
    click.echo(f"{len(db.students())} students on the roster in {options.data_dir}.")


def serve_course(course_file: Path, data_dir: Path, host: str, port: int, workers: int | None,
                 scheduler: str | None) -> None:
    import uvicorn

    from nnlab.course.app import create_app
    from nnlab.course.policy import FAKE_NOW_ENV
    from nnlab.course.repository import use_course
    from nnlab.settings import read_settings

    _instructor_side("serve")
    # Exported before the queue's workers start: they grade the course's own exercises too.
    use_course(course_file)
    app = create_app(course_file, data_dir, workers=workers, scheduler=scheduler)
    server = app.state.server
    stored = len(server.db.submissions(None, None))
    click.echo(f"nnlab course server for {server.course.name!r} on http://{host}:{port} "
               f"(data {data_dir}, {len(server.db.students())} students, {stored} submissions stored); "
               "Ctrl-C stops it, and a restart finishes what was accepted.", err=True)
    if read_settings().fake_now is not None:
        click.echo(f"warning: {FAKE_NOW_ENV} is set: the clock is a test clock", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)

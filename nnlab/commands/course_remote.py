"""The course commands run away from the server, through its API as a client: login, status, collect."""
from __future__ import annotations

import base64
import getpass
import re
import sys
from pathlib import Path

import click

from nnlab.course.client import (CourseClient, Counted, ServerError, counted_submission, normalize_url,
                                 save_login)
from nnlab.course.schemas import (AssignmentInfo, CountedResult, ExtensionInfo, StoredAdjustment, StudentResult,
                                  Submission, SubmissionFiles)
from nnlab.commands.course_submit import hidden_checks_note
from nnlab.errors import UsageError
from nnlab.i18n import message

_FILE_NAME = re.compile(r"^[A-Za-z0-9_]+\.(py|ipynb)$")


def read_token(url: str, token_file: Path | None, token: str | None) -> str:
    """The token from --token-file, else --token, else a no-echo prompt on a terminal, else stdin."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{token_file}: cannot be read ({exc})") from None
    elif token is not None:
        text = token
    elif sys.stdin is not None and sys.stdin.isatty():
        try:
            text = getpass.getpass(f"Token for {url} (not shown as you type): ")
        except EOFError:
            text = ""
    else:
        text = sys.stdin.readline() if sys.stdin is not None else ""
    found = text.strip()
    if not found or any(c.isspace() for c in found):
        where = f"{token_file}" if token_file is not None else "the input"
        raise UsageError(f"no token in {where}: give the one token your instructor sent you "
                         "(typed at the prompt, piped on stdin, or in --token-file PATH)")
    return found


def login_to(url: str, token_file: Path | None = None, token: str | None = None) -> None:
    """Checks the token against the server, then saves both (the token never needs the command line)."""
    server = normalize_url(url)
    client = CourseClient(server, read_token(server, token_file, token))
    assignments = client.get_list("/api/v1/assignments", AssignmentInfo)
    path = save_login(client.server, client.token)
    click.echo(f"Logged in to {client.server}; saved in {path} (readable by you only).")
    click.echo(f"Assignments: {', '.join(a.id for a in assignments) or 'none yet'}.")
    if token is not None and token_file is None:
        # Kept so old scripts still work; a token in argv lands in shell history and `ps`.
        click.echo("nnlab: note: --token puts your token in shell history and in `ps`; next time run "
                   f"`nnlab login {client.server}` and type it, or use --token-file PATH", err=True)


def _when(text: str | None) -> str:
    return (text or "")[:16].replace("T", " ")


def _submission_line(sub: Submission, counts: bool, assignment: AssignmentInfo, lang: str) -> str:
    score = f"{sub.score:g}/{sub.max_score or 0:g}" if sub.score is not None else \
        message(f"upload.status.{sub.status}", lang) if sub.status != "done" else sub.status
    late = message("upload.late", lang, count=sub.late_days) if sub.late_days else ""
    hidden = hidden_checks_note(sub.result, assignment, lang) \
        if isinstance(sub.result, StudentResult) and sub.result.hidden_note else ""
    extra = f" ({hidden})" if hidden else ""
    mark = message("status.counts", lang) if counts else ""
    return f"  {_when(sub.submitted_at)}  {sub.id}  {score}{late}{extra}{mark}"


def _counts_note(assignment: AssignmentInfo, counted: Counted, lang: str) -> str:
    """Which upload is the grade, in words; the marked line says which one where it can be told."""
    if assignment.counts == "last":
        return message("status.counts_last", lang)
    return message("status.counts_best" if counted.known else "status.counts_best_unknown", lang)


def show_status(assignment_id: str | None, lang: str = "en") -> None:
    """`nnlab status`: the course's assignments and the student's uploads, in `lang`."""
    client = CourseClient.from_config()
    assignments = client.get_list("/api/v1/assignments", AssignmentInfo)
    if assignment_id is not None and assignment_id not in {a.id for a in assignments}:
        known = ", ".join(a.id for a in assignments)
        raise UsageError(f"no assignment '{assignment_id}' on {client.server} (assignments: {known})")
    query = f"?assignment={assignment_id}" if assignment_id else ""
    submissions = client.get_list(f"/api/v1/submissions{query}", Submission)
    echo_status([a for a in assignments if assignment_id in (None, a.id)], submissions, lang)


def echo_status(assignments: list[AssignmentInfo], submissions: list[Submission], lang: str = "en") -> None:
    """Each assignment's state, due dates and the student's uploads, the counted one marked."""
    for assignment in assignments:
        state = message("status.closed", lang) if assignment.closed else (
            message("status.late", lang, count=assignment.late_days_now) if assignment.late_days_now
            else message("status.open", lang))
        left = assignment.attempts_left
        attempts = message("upload.left", lang, count=left) if left is not None else ""
        click.echo(click.style(message("status.header", lang, id=assignment.id, title=assignment.title), bold=True)
                   + f"  [{state}{attempts}]")
        click.echo(message("status.due", lang, due=_when(assignment.due), offset=assignment.due[19:],
                           until=_when(assignment.late_until), exercises=", ".join(assignment.exercises)))
        mine = [s for s in submissions if s.assignment == assignment.id]
        counted = counted_submission(assignment, mine)
        for sub in mine:
            click.echo(_submission_line(sub, sub.id == counted.submission_id, assignment, lang))
        if mine:
            click.echo(f"  {_counts_note(assignment, counted, lang)}")
        else:
            click.echo(message("status.none", lang))


def _collect_files(client: CourseClient, entry: CountedResult, exercises: list[str],
                   folder: Path) -> None:
    """The student's folder, holding their counted upload's files (empty when there is none)."""
    folder.mkdir(parents=True, exist_ok=True)
    for ex_id in exercises:  # an earlier collect may hold a file this upload does not
        for old in (folder / f"{ex_id}.py", folder / f"{ex_id}.ipynb"):
            old.unlink(missing_ok=True)
    if not entry.submission_id:
        return
    files = client.get(f"/api/v1/submissions/{entry.submission_id}/files", SubmissionFiles).files
    for file in files:
        if _FILE_NAME.match(file.name):
            (folder / file.name).write_bytes(base64.b64decode(file.content))


def _extensions(client: CourseClient, assignment_id: str) -> list[ExtensionInfo]:
    """The extensions granted on the assignment; none from a server too old to grant them."""
    try:
        return client.get_list(f"/api/v1/assignments/{assignment_id}/extensions", ExtensionInfo)
    except ServerError as error:
        if error.status == 404:
            return []
        raise


def collect_class(assignment_id: str, out_dir: Path) -> None:
    """Writes CLASS_DIR/<student>/<file> of each roster student's counted submission (an empty
    folder for none) and CLASS_DIR/gradebook.json: late days, the penalty, the adjustments."""
    import datetime as dt

    from nnlab.course.collected import GRADEBOOK_FILE, gradebook_from_server, write_gradebook

    client = CourseClient.from_config()
    known = client.get_list("/api/v1/assignments", AssignmentInfo)
    assignment = next((a for a in known if a.id == assignment_id), None)
    if assignment is None:
        raise UsageError(f"no assignment '{assignment_id}' on {client.server} "
                         f"(assignments: {', '.join(a.id for a in known) or 'none'})")
    try:
        counted = client.get_list(f"/api/v1/assignments/{assignment_id}/results", CountedResult)
        adjustments = client.get_list(f"/api/v1/assignments/{assignment_id}/adjustments", StoredAdjustment)
        extensions = _extensions(client, assignment_id)
    except ServerError as error:
        if error.status == 403:
            raise UsageError("`nnlab collect` needs the instructor's token "
                             "(NNLAB_TOKEN or `nnlab login URL` with the instructor's token)") from None
        raise
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out_dir}: {exc.strerror}") from None
    for entry in counted:  # the roster's ids are checked when imported: each is a plain folder name
        _collect_files(client, entry, assignment.exercises, out_dir / (entry.student or ""))
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    book = gradebook_from_server(client.server, assignment, counted, adjustments, now, extensions)
    write_gradebook(book, out_dir)
    missing = [s.student for s in book.students if s.submission_id is None]
    late = sum(1 for s in book.students if s.late_days)
    click.echo(f"Collected {len(counted) - len(missing)} of {len(counted)} student(s) into {out_dir}"
               + (f"; nothing handed in by {len(missing)}: {', '.join(missing)}" if missing else "") + ".")
    click.echo(f"{out_dir / GRADEBOOK_FILE}: {late} late, {len(adjustments)} adjustment(s), "
               f"{assignment.late_penalty_per_day:g} off per day late; `nnlab grade` applies them.")
    click.echo(f"Next: nnlab grade {out_dir} --out REPORT_DIR")

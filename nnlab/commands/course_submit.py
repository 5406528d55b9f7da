"""`nnlab submit PATH --assignment ID` with a course server: upload, wait, print what the student may see."""
from __future__ import annotations

import base64
import json
import sys
import time
import urllib.parse
from pathlib import Path

import click

from nnlab.course.client import CourseClient, counted_submission
from nnlab.course.schemas import Accepted, AssignmentInfo, StudentExercise, StudentResult, Submission, to_json
from nnlab.errors import NnlabError, UsageError
from nnlab.i18n import message

_WAIT_LIMIT_S = 3600.0


def _pick_assignment(assignments: list[AssignmentInfo], wanted: str) -> AssignmentInfo:
    known = {a.id: a for a in assignments}
    if wanted not in known:
        raise UsageError(f"no assignment '{wanted}' (assignments: {', '.join(known) or 'none'})")
    return known[wanted]


def _confirm_dropped(client: CourseClient, assignment: AssignmentInfo, files: list[Path],
                     assume_yes: bool) -> None:
    """An upload replaces the whole submission: names what the counted one holds and this one
    lacks, and asks before sending (no terminal to ask on: refused unless --yes)."""
    mine = client.get_list(f"/api/v1/submissions?assignment={urllib.parse.quote(assignment.id)}", Submission)
    counted = counted_submission(assignment, mine)
    dropped = sorted(counted.holds - {f.stem for f in files})
    if not dropped or assume_yes:
        return
    which = "your counted submission" if counted.known else "an upload of yours that may count"
    names = ", ".join(dropped)
    if not (sys.stdin is not None and sys.stdin.isatty()):
        raise UsageError(f"this upload lacks {names}, which {which} to {assignment.id} holds; an upload "
                         "replaces the whole submission: add the file(s), or pass --yes to upload anyway")
    click.echo(f"This upload lacks {names}, which {which} to {assignment.id} holds.\n"
               "An upload is a whole submission: if it counts, those exercises count as not submitted.",
               err=True)
    if not click.confirm("Upload anyway?", default=False, err=True):
        click.echo("Nothing uploaded.", err=True)
        raise SystemExit(1)


def _files(path: Path, assignment: AssignmentInfo) -> list[Path]:
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    if path.is_file():
        return [path]
    found = [path / f"{ex}{suffix}" for ex in assignment.exercises for suffix in (".py", ".ipynb")]
    found = [f for f in found if f.is_file()]
    if not found:
        names = ", ".join(f"{ex}.py" for ex in assignment.exercises)
        raise UsageError(f"{path}: none of {assignment.id}'s files is here (expected {names})")
    return found


def _upload(client: CourseClient, assignment: AssignmentInfo, files: list[Path]) -> Accepted:
    from nnlab.course.uploads import MAX_BODY_BYTES

    body = {"assignment": assignment.id, "files": [
        {"name": f.name, "content": base64.b64encode(f.read_bytes()).decode("ascii")} for f in files]}
    size = len(json.dumps(body))
    if size > MAX_BODY_BYTES:
        raise UsageError(f"the upload would be {size:,} bytes; the server takes at most {MAX_BODY_BYTES:,}")
    return client.post("/api/v1/submissions", body, Accepted)


def _wait(client: CourseClient, submission_id: str, quiet: bool, lang: str = "en") -> Submission:
    """Polls until graded, with one progress line on stderr."""
    started = time.monotonic()
    delay = 0.3
    terminal = sys.stderr.isatty()
    last = ""
    while True:
        sub = client.get(f"/api/v1/submissions/{submission_id}", Submission)
        if sub.status in ("done", "error"):
            if terminal and not quiet:
                click.echo("\r" + " " * len(last) + "\r", nl=False, err=True)
            return sub
        waited = time.monotonic() - started
        if waited > _WAIT_LIMIT_S:
            raise NnlabError(f"still {sub.status} after {waited / 60:.0f} min; your upload is kept: "
                             f"see `nnlab status --assignment {sub.assignment}` later")
        ahead = sub.queue_position
        state = (message("upload.queued_ahead", lang, ahead=ahead) if sub.status == "queued" and ahead
                 else message(f"upload.status.{sub.status}", lang) if sub.status in ("queued", "running")
                 else sub.status)
        line = state + f"... {waited:.0f} s"
        if not quiet and (terminal or line.split("...")[0] != last.split("...")[0]):
            click.echo(("\r" + line) if terminal else line, nl=not terminal, err=True)
            last = line
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def _echo_adjustments(exercise: StudentExercise, lang: str = "en") -> None:
    """The instructor's adjustments to an exercise, each with its reason, under its checks."""
    adjustments = exercise.adjustments or exercise.full_score_adjustments or []
    if not adjustments:
        return
    if exercise.adjustments:
        click.echo(message("upload.adjusted", lang, original=exercise.original_score or 0.0,
                           score=exercise.score, max_score=exercise.max_score))
    else:
        click.echo(message("upload.adjusted_whole", lang))
    for a in adjustments:
        target = a.check or message("upload.target_hidden" if a.hidden_check else "upload.target_exercise", lang)
        if a.change is None:  # hidden checks withheld: the adjustment as written, not its effect
            change = message("upload.set_to", lang, points=a.points) if a.kind == "override" else f"{a.points:+g}"
        else:
            change = f"{a.change:+g}" + (message("upload.set_to_after", lang, points=a.points)
                                         if a.kind == "override" else "")
        click.echo(message("upload.adjustment", lang, change=change, target=target, reason=a.reason,
                           author=a.author, date=a.date[:10]))
    click.echo()


def _echo_view(view: StudentResult, assignment: AssignmentInfo, lang: str = "en") -> None:
    from nnlab.commands.display import echo_exercise
    from nnlab.results import result_from_json

    shown = result_from_json({"exercises": [to_json(e) for e in view.exercises]})
    for exercise, data in zip(shown.exercises, view.exercises):
        echo_exercise(exercise, lang=lang)
        _echo_adjustments(data, lang)
        if data.hidden_checks:
            click.echo(message("upload.hidden_waiting", lang, count=data.hidden_checks))
    penalty = ""
    if view.late_penalty:
        penalty = message("upload.penalty", lang, days=view.late_days, percent=f"{view.late_penalty:.0%}",
                          raw=view.raw_score)
    scope = message("upload.score_scope", lang) if view.hidden_checks else ""
    click.echo(message("upload.score", lang, scope=scope, score=view.score, max_score=view.max_score,
                       penalty=penalty))
    if view.hidden_note:
        click.echo(_hidden_note(view, assignment, lang))


def _hidden_note(view: StudentResult, assignment: AssignmentInfo, lang: str) -> str:
    """The note on hidden checks as a sentence of its own, in `lang`."""
    note = hidden_checks_note(view, assignment, lang)
    return message("upload.sentence", lang, text=f"{note[0].upper()}{note[1:]}")


def hidden_checks_note(view: StudentResult, assignment: AssignmentInfo, lang: str) -> str:
    """The server's note on a result's hidden checks (English), or the same said in `lang`;
    no final stop (`nnlab status` puts it in brackets)."""
    if lang == "en":
        return view.hidden_note
    key = "upload.hidden_never" if assignment.hidden_feedback == "never" else "upload.hidden_after_due"
    return message(key, lang, count=view.hidden_checks)


def remote_submit(path: Path, assignment_id: str, wait: bool, as_json: bool,
                  report: Path | None, assume_yes: bool = False, lang: str = "en") -> None:
    """Uploads PATH's files as the whole submission to ASSIGNMENT_ID (asking first if that drops
    exercises the counted one holds), then waits for grading unless told not to."""
    client = CourseClient.from_config()
    assignment = _pick_assignment(client.get_list("/api/v1/assignments", AssignmentInfo), assignment_id)
    files = _files(path, assignment)
    _confirm_dropped(client, assignment, files, assume_yes)
    accepted = _upload(client, assignment, files)
    left = accepted.attempts_left
    late = message("upload.late", lang, count=accepted.late_days) if accepted.late_days else ""
    click.echo(message("upload.done", lang, files=", ".join(f.name for f in files), assignment=assignment.id,
                       id=accepted.id, late=late,
                       left=message("upload.left", lang, count=left) if left is not None else ""),
               err=as_json)
    if not wait:
        if as_json:
            click.echo(json.dumps(to_json(accepted), indent=2))
        click.echo(message("upload.background", lang, assignment=assignment.id), err=as_json)
        return
    try:
        sub = _wait(client, accepted.id, quiet=False, lang=lang)
    except KeyboardInterrupt:
        click.echo(message("upload.stopped", lang, id=accepted.id, assignment=assignment.id), err=True)
        raise SystemExit(130) from None
    if report is not None:
        report.write_text(client.text(f"/submissions/{accepted.id}"), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(to_json(sub), indent=2))
    elif sub.status == "error":
        raise NnlabError(f"submission {sub.id} could not be graded on the server: {sub.error}; "
                         "tell your instructor")
    elif isinstance(sub.result, StudentResult):  # the student's own view: their token
        _echo_view(sub.result, assignment, lang)
    if report is not None and not as_json:
        click.echo(message("submit.report", lang, path=report))


def kit_local_submit(path: Path, as_json: bool, report: Path | None, seed: int | None,
                     student: str | None, lang: str = "en") -> None:
    """`nnlab submit PATH` in a student kit: the public checks on this machine, said plainly,
    since the hidden ones are on the course server; nothing is uploaded, no attempt spent."""
    from nnlab.commands.display import echo_exercise
    from nnlab.commands.session_setup import grading_launcher, preflight, start_fork_server_early
    from nnlab.grader.exercise import get_exercise

    preflight(path)
    start_fork_server_early()
    from nnlab.grader.pipeline import GradeRequest, grade_student

    with grading_launcher() as launcher:
        result = grade_student(GradeRequest(path, student=student, include_hidden=False, seed=seed),
                               launcher)
    if report is not None:
        from nnlab.reports import write_student_report

        write_student_report(result, report, lang=lang)
    worth = sum(get_exercise(e.id).points for e in result.exercises)
    note = message("kit.note", lang, score=result.score, max_score=result.max_score, worth=worth)
    if as_json:
        click.echo(json.dumps({**result.to_json(), "public_checks_only": True}, indent=2))
        click.echo(note, err=True)
        return
    for exercise in result.exercises:
        echo_exercise(exercise, lang=lang)
    click.echo(message("kit.seed", lang, seed=result.seed))
    click.echo(note)
    if report is not None:
        click.echo(message("submit.report", lang, path=report))

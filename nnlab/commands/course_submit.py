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


def _wait(client: CourseClient, submission_id: str, quiet: bool) -> Submission:
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
        line = (f"queued, {ahead} ahead" if sub.status == "queued" and ahead else sub.status) \
            + f"... {waited:.0f} s"
        if not quiet and (terminal or line.split("...")[0] != last.split("...")[0]):
            click.echo(("\r" + line) if terminal else line, nl=not terminal, err=True)
            last = line
        time.sleep(delay)
        delay = min(delay * 1.5, 2.0)


def _echo_adjustments(exercise: StudentExercise) -> None:
    """The instructor's adjustments to an exercise, each with its reason, under its checks."""
    adjustments = exercise.adjustments or exercise.full_score_adjustments or []
    if not adjustments:
        return
    if exercise.adjustments:
        click.echo(f"  Adjusted by your instructor: the checks gave {exercise.original_score or 0.0:g}, "
                   f"the score is {exercise.score:g}/{exercise.max_score:g}")
    else:
        click.echo("  Adjusted by your instructor (on the whole exercise, hidden checks included):")
    for a in adjustments:
        target = a.check or ("a hidden check" if a.hidden_check else "the exercise")
        if a.change is None:  # hidden checks withheld: the adjustment as written, not its effect
            change = f"set to {a.points:g}" if a.kind == "override" else f"{a.points:+g}"
        else:
            change = f"{a.change:+g}" + (f" (set to {a.points:g})" if a.kind == "override" else "")
        click.echo(f"    {change} on {target}: {a.reason} ({a.author}, {a.date[:10]})")
    click.echo()


def _echo_view(view: StudentResult) -> None:
    from nnlab.commands.display import echo_exercise
    from nnlab.results import result_from_json

    shown = result_from_json({"exercises": [to_json(e) for e in view.exercises]})
    for exercise, data in zip(shown.exercises, view.exercises):
        echo_exercise(exercise)
        _echo_adjustments(data)
        if data.hidden_checks:
            click.echo(f"  + {data.hidden_checks} hidden check(s), not shown yet\n")
    penalty = ""
    if view.late_penalty:
        penalty = (f"  ({view.late_days} day(s) late: -{view.late_penalty:.0%}; "
                   f"{view.raw_score:g} before the penalty)")
    scope = " on the checks shown" if view.hidden_checks else ""
    click.echo(f"Score{scope}: {view.score:g}/{view.max_score:g}{penalty}")
    if view.hidden_note:
        click.echo(f"{view.hidden_note[0].upper()}{view.hidden_note[1:]}.")


def remote_submit(path: Path, assignment_id: str, wait: bool, as_json: bool,
                  report: Path | None, assume_yes: bool = False) -> None:
    """Uploads PATH's files as the whole submission to ASSIGNMENT_ID (asking first if that drops
    exercises the counted one holds), then waits for grading unless told not to."""
    client = CourseClient.from_config()
    assignment = _pick_assignment(client.get_list("/api/v1/assignments", AssignmentInfo), assignment_id)
    files = _files(path, assignment)
    _confirm_dropped(client, assignment, files, assume_yes)
    accepted = _upload(client, assignment, files)
    left = accepted.attempts_left
    late = f", {accepted.late_days} day(s) late" if accepted.late_days else ""
    click.echo(f"Uploaded {', '.join(f.name for f in files)} to {assignment.id}: submission "
               f"{accepted.id}{late}" + (f", {left} attempt(s) left this hour" if left is not None
                                            else "") + ".", err=as_json)
    if not wait:
        if as_json:
            click.echo(json.dumps(to_json(accepted), indent=2))
        click.echo(f"Graded in the background: `nnlab status --assignment {assignment.id}`.", err=as_json)
        return
    try:
        sub = _wait(client, accepted.id, quiet=False)
    except KeyboardInterrupt:
        click.echo(f"\nStopped waiting; submission {accepted.id} is accepted and will be graded: "
                   f"`nnlab status --assignment {assignment.id}`.", err=True)
        raise SystemExit(130) from None
    if report is not None:
        report.write_text(client.text(f"/submissions/{accepted.id}"), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(to_json(sub), indent=2))
    elif sub.status == "error":
        raise NnlabError(f"submission {sub.id} could not be graded on the server: {sub.error}; "
                         "tell your instructor")
    elif isinstance(sub.result, StudentResult):  # the student's own view: their token
        _echo_view(sub.result)
    if report is not None and not as_json:
        click.echo(f"Report: {report}")


def kit_local_submit(path: Path, as_json: bool, report: Path | None, seed: int | None,
                     student: str | None) -> None:
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

        write_student_report(result, report)
    worth = sum(get_exercise(e.id).points for e in result.exercises)
    note = (f"Student kit: only the public checks ran here, {result.score:g}/{result.max_score:g} "
            f"of the {worth:g} points these exercises are worth; the hidden checks run on the course "
            "server. Nothing was uploaded: `nnlab submit PATH --assignment ID` hands in.")
    if as_json:
        click.echo(json.dumps({**result.to_json(), "public_checks_only": True}, indent=2))
        click.echo(note, err=True)
        return
    for exercise in result.exercises:
        echo_exercise(exercise)
    click.echo(f"Seed {result.seed}.")
    click.echo(note)
    if report is not None:
        click.echo(f"Report: {report}")

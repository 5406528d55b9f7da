"""The course commands on the student's (and collecting instructor's) side: login, status, collect."""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import click

from nnlab.course.client import CourseClient, ServerError, normalize_url, save_login
from nnlab.errors import UsageError

_FILE_NAME = re.compile(r"^[A-Za-z0-9_]+\.(py|ipynb)$")


def login_to(url: str, token: str) -> None:
    """Checks the token against the server, then saves both."""
    client = CourseClient(normalize_url(url), token.strip())
    assignments = client.get("/api/v1/assignments")
    path = save_login(client.server, client.token)
    click.echo(f"Logged in to {client.server}; saved in {path} (readable by you only).")
    click.echo(f"Assignments: {', '.join(a['id'] for a in assignments) or 'none yet'}.")


def _when(text: str | None) -> str:
    return (text or "")[:16].replace("T", " ")


def _submission_line(sub: dict[str, Any]) -> str:
    score = (f"{sub['score']:g}/{sub['max_score']:g}" if sub.get("score") is not None
             else sub["status"])
    late = f", {sub['late_days']} day(s) late" if sub["late_days"] else ""
    hidden = (sub.get("result") or {}).get("hidden_note", "")
    extra = f" ({hidden})" if hidden else ""
    return f"  {_when(sub['submitted_at'])}  {sub['id']}  {score}{late}{extra}"


def show_status(assignment_id: str | None) -> None:
    client = CourseClient.from_config()
    assignments = client.get("/api/v1/assignments")
    if assignment_id is not None and assignment_id not in {a["id"] for a in assignments}:
        known = ", ".join(a["id"] for a in assignments)
        raise UsageError(f"no assignment '{assignment_id}' on {client.server} (assignments: {known})")
    query = f"?assignment={assignment_id}" if assignment_id else ""
    submissions = client.get(f"/api/v1/submissions{query}")
    for assignment in assignments:
        if assignment_id is not None and assignment["id"] != assignment_id:
            continue
        state = "closed" if assignment["closed"] else (
            f"late ({assignment['late_days_now']} day(s))" if assignment["late_days_now"] else "open")
        left = assignment.get("attempts_left")
        attempts = f", {left} attempt(s) left this hour" if left is not None else ""
        click.echo(click.style(f"{assignment['id']}: {assignment['title']}", bold=True)
                   + f"  [{state}{attempts}]")
        click.echo(f"  due {_when(assignment['due'])} {assignment['due'][19:]}, accepted until "
                   f"{_when(assignment['late_until'])}; exercises {', '.join(assignment['exercises'])}")
        mine = [s for s in submissions if s["assignment"] == assignment["id"]]
        for sub in mine:
            click.echo(_submission_line(sub))
        if not mine:
            click.echo("  no submissions yet")


def collect_class(assignment_id: str, out_dir: Path) -> None:
    """Writes CLASS_DIR/<student>/<file> of each student's counted submission."""
    client = CourseClient.from_config()
    try:
        counted = client.get(f"/api/v1/assignments/{assignment_id}/results")
    except ServerError as error:
        if error.status == 403:
            raise UsageError("`nnlab collect` needs the instructor's token "
                             "(NNLAB_TOKEN or `nnlab login URL --token INSTRUCTOR_TOKEN`)") from None
        raise
    exercises = [e["id"] for e in counted[0]["exercises"]] if counted else []
    missing: list[str] = []
    written = 0
    for entry in counted:
        student = entry["student"]
        if not entry.get("submission_id"):
            missing.append(student)
            continue
        files = client.get(f"/api/v1/submissions/{entry['submission_id']}/files")["files"]
        folder = out_dir / student
        folder.mkdir(parents=True, exist_ok=True)
        for ex_id in exercises:  # an earlier collect may hold the other file type of an exercise
            for old in (folder / f"{ex_id}.py", folder / f"{ex_id}.ipynb"):
                old.unlink(missing_ok=True)
        for file in files:
            if _FILE_NAME.match(file["name"]) and "/" not in student:
                (folder / file["name"]).write_bytes(base64.b64decode(file["content"]))
        written += 1
    click.echo(f"Collected {written} student(s) into {out_dir}"
               + (f"; no graded upload from {len(missing)}: {', '.join(missing)}" if missing else "") + ".")
    click.echo(f"Next: nnlab grade {out_dir} --out REPORT_DIR --exercises {','.join(exercises)}")

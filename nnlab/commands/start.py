"""`nnlab start`: copies an exercise's stub and statement into the student's folder."""
from __future__ import annotations

from pathlib import Path

import click

from nnlab.errors import UsageError
from nnlab.grader.exercise import get_exercise


def start_exercise(exercise_id: str, directory: Path | None, force: bool, lang: str | None = None,
                   notebook: bool = False) -> None:
    exercise = get_exercise(exercise_id)
    directory = directory if directory is not None else Path('.')
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory} is a file, not a folder")
    stub_target = directory / f"{exercise.id}.py"
    statement_target = directory / f"{exercise.id}.md"
    existing = [p for p in (stub_target, statement_target) if p.exists()]
    if existing and not force:
        raise UsageError(f"{existing[0]} already exists; your work is kept (use --force to overwrite)")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        stub_target.write_text(exercise.stub_path.read_text(encoding="utf-8"), encoding="utf-8")
        statement_target.write_text(exercise.statement_path.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write into {directory}: {exc.strerror}") from exc
    click.echo(f"Wrote {stub_target} (your code) and {statement_target} (the task).")
    click.echo(f"Next: fill in {stub_target.name}, then `nnlab check {stub_target}`.")

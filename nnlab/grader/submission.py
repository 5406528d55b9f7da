"""Finds and reads submission files: one `ID.py` per exercise, never following links outside."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnlab.errors import SubmissionError, UsageError
from nnlab.grader.exercise import Exercise

MAX_SOURCE_BYTES = 1_000_000


@dataclass(frozen=True)
class SubmissionFile:
    """One file handed in for one exercise, or the reason it cannot be read."""

    exercise_id: str
    path: Path
    source: str | None
    """The decoded text; None when `problem` says why it could not be read."""
    problem: str = ""


def read_source(path: Path, root: Path | None = None) -> tuple[str | None, str]:
    """(text, problem): a problem is a message for the student, not an exception."""
    if path.is_symlink():
        target = path.resolve()
        if root is None or not target.is_relative_to(root.resolve()):
            return None, f"{path.name} is a link to a file outside the submission; links are not followed"
    if path.is_dir():
        return None, f"{path.name} is a folder, not a Python file"
    if not path.is_file():
        return None, f"{path.name} is not a regular file"
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        return None, f"{path.name} is {size:,} bytes; the limit is {MAX_SOURCE_BYTES:,}"
    raw = path.read_bytes()
    if b"\x00" in raw:
        return None, f"{path.name} is a binary file, not Python source"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"{path.name} is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    if not text.strip():
        return None, f"{path.name} is empty"
    return text, ""


def collect(path: Path, catalogue: tuple[Exercise, ...]) -> list[SubmissionFile]:
    """The submission files at `path` (a file `ID.py` or a folder of them), catalogue order."""
    if not path.exists() and not path.is_symlink():
        raise UsageError(f"{path}: no such file or folder")
    known = {e.id: e for e in catalogue}
    if path.is_dir() and not path.is_symlink():
        found = []
        for exercise in catalogue:
            candidate = path / f"{exercise.id}.py"
            if candidate.exists() or candidate.is_symlink():
                source, problem = read_source(candidate, root=path)
                found.append(SubmissionFile(exercise.id, candidate, source, problem))
        return found
    stem = path.name.removesuffix(".py")
    if not path.name.endswith(".py") or stem not in known:
        raise UsageError(f"{path}: a submission file is named after its exercise, e.g. "
                         f"my_linear.py (known: {', '.join(known)})")
    source, problem = read_source(path, root=path.parent)
    return [SubmissionFile(stem, path, source, problem)]


def require_readable(files: list[SubmissionFile], path: Path) -> None:
    if not files:
        raise SubmissionError(f"{path}: no submission files found (expected files like my_linear.py)")

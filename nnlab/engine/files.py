"""A student's submission files as plain data: read once, digested, shipped to any worker."""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from nnlab.grader.submission import SUFFIXES, max_bytes

__all__ = ["SUFFIXES", "StudentFile", "files_digest", "read_student_files", "write_student_files"]


@dataclass(frozen=True)
class StudentFile:
    """One candidate submission file, as found in the student's folder."""

    name: str
    """The file name, e.g. 'my_linear.py'."""
    kind: str
    """'file', 'folder', 'outside-link' (a link leaving the folder) or 'special' (fifo, device)."""
    data: bytes = b""
    """The content of a file (links inside the folder are followed); cut at the size limit."""
    size: int = 0
    """The file's real size in bytes, also when `data` was cut."""


def _one(folder: Path, name: str) -> StudentFile | None:
    path = folder / name
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_symlink():
        if not path.resolve().is_relative_to(folder.resolve()):
            return StudentFile(name, "outside-link")
    try:
        mode = path.stat().st_mode
    except OSError:
        return StudentFile(name, "special")
    if stat.S_ISDIR(mode):
        return StudentFile(name, "folder")
    if not stat.S_ISREG(mode):
        return StudentFile(name, "special")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        # Only what the grader would read: an oversized file is refused by its size alone.
        data = handle.read(max_bytes(name) + 1)
    return StudentFile(name, "file", data, size)


def read_student_files(folder: Path, exercise_ids: tuple[str, ...]) -> tuple[StudentFile, ...]:
    """The files of `folder` that can be submissions for the exercise set, in a stable order."""
    found = []
    for exercise_id in exercise_ids:
        for suffix in SUFFIXES:
            file = _one(folder, exercise_id + suffix)
            if file is not None:
                found.append(file)
    return tuple(found)


def files_digest(files: tuple[StudentFile, ...]) -> str:
    """A digest of the files: any change of name, kind, size or content changes it."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}\0{file.kind}\0{file.size}\0{len(file.data)}\0".encode())
        digest.update(file.data)
    return digest.hexdigest()


def write_student_files(files: tuple[StudentFile, ...], folder: Path) -> None:
    """Recreates the files in an empty `folder` so the grader reads them as it would the originals."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in files:
        path = folder / file.name
        if file.kind == "folder":
            path.mkdir()
        elif file.kind == "outside-link":
            # Points nowhere inside the folder: refused like the original link.
            path.symlink_to(Path(os.sep) / "nonexistent-outside-the-submission" / file.name)
        elif file.kind == "special":
            os.mkfifo(path)
        else:
            with open(path, "wb") as handle:
                handle.write(file.data)
                if file.size > len(file.data):
                    # Keeps the real size, so the size limit names the same number of bytes.
                    handle.truncate(file.size)

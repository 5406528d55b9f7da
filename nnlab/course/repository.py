"""Finds the course repository as git finds .git: --course, else $NNLAB_COURSE, else course.toml upwards."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from nnlab.errors import UsageError

COURSE_FILE = "course.toml"
COURSE_ENV = "NNLAB_COURSE"
"""The course in force. `--course` sets it too, so that every process that grades for this
command (the embedded Dask cluster's workers, the course server's queue, a forked grader)
inherits the same course through its environment instead of finding its own from its folder."""


def _course_file(path: Path, where: str) -> Path:
    """course.toml itself, given the file or the repository folder."""
    path = path.expanduser()
    candidate = path / COURSE_FILE if path.is_dir() else path
    if not candidate.is_file():
        raise UsageError(f"{where}{path} is no course: no {COURSE_FILE} there (a course "
                         "repository's root has one; `nnlab new course DIR` makes one)")
    return candidate.resolve()


def find_course(start: Path | None = None) -> Path | None:
    """The course.toml in force, absolute, or None outside any course.

    $NNLAB_COURSE (which `--course` sets) comes first; an empty value means no course.
    Else course.toml in `start` (the working folder) or the nearest parent that holds one.
    """
    named = os.environ.get(COURSE_ENV)
    if named is not None:  # only then nnlab.settings (pydantic): unset is every command's start
        from nnlab.settings import read_settings

        named = read_settings("course").course or ""
        return _course_file(Path(named), f"{COURSE_ENV}=") if named.strip() else None
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / COURSE_FILE
        if candidate.is_file():
            return candidate
    return None


def use_course(path: Path | None) -> Path | None:
    """Puts the course at `path` (course.toml or its folder) in force for this process and
    the processes it starts; None leaves discovery as it is."""
    if path is None:
        return None
    found = _course_file(Path(path), "")
    os.environ[COURSE_ENV] = str(found)
    return found


def course_root() -> Path | None:
    """The repository folder of the course in force, or None."""
    found = find_course()
    return found.parent if found is not None else None


def export_course(path: Path | None) -> Callable[[], None]:
    """Exports the command line's course (`--course`, else the one found) as $NNLAB_COURSE:
    the worker hides it from student code, Dask workers and queues grade with it. Returns
    what puts the environment back as it was."""
    before = os.environ.get(COURSE_ENV)
    found = use_course(path) if path is not None else find_course()
    if found is not None:
        os.environ[COURSE_ENV] = str(found)

    def restore() -> None:
        if before is None:
            os.environ.pop(COURSE_ENV, None)
        else:
            os.environ[COURSE_ENV] = before

    return restore

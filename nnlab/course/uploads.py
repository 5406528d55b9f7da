"""Checks an upload before it costs an attempt: JSON shape, base64, file names, sizes, and the grader's reading."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnlab.course.config import Assignment, Course
from nnlab.errors import RequestRejected
from nnlab.grader.submission import SUFFIXES, from_bytes, max_bytes

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body accepted (base64 makes files a third larger)."""
MAX_FILES = 32
_NAME_SHOWN = 80


@dataclass(frozen=True)
class UploadFile:
    """One decoded file of an upload."""

    name: str
    """`ID.py` or `ID.ipynb`, ID an exercise of the assignment."""
    data: bytes


def shown(text: str) -> str:
    """`text` as it can be quoted in a message: cut short, and a lone surrogate (which no
    response can encode) written as its escape."""
    cut = text if len(text) <= _NAME_SHOWN else text[:_NAME_SHOWN] + "..."
    return cut.encode("utf-8", "backslashreplace").decode("utf-8")


def _decode(entry: Any, index: int) -> tuple[str, bytes | None, str]:
    """(name, data, problem) of one entry of the `files` list; 413 for a file over the
    grader's size limit (max_bytes), counted in decoded bytes."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
            or not isinstance(entry.get("content"), str):
        return f"file {index + 1}", None, 'must be {"name": "ID.py", "content": "<base64>"}'
    name, content = entry["name"], entry["content"]
    limit = max_bytes(name)
    too_large = RequestRejected(413, f"{shown(name)} is larger than {limit:,} bytes")
    if len(content) > 4 * ((limit + 2) // 3):  # the longest base64 of `limit` bytes
        raise too_large
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        return name, None, "content is not valid base64"
    if len(data) > limit:
        raise too_large
    return name, data, ""


def _problem(exercise_id: str, name: str, data: bytes) -> str:
    """Why the grader could not read the file ('' when it can): the grader's own reading, so
    an accepted file is one the grader reads."""
    read = from_bytes(exercise_id, Path(name), data)
    if read.source is not None:
        return ""
    # The grader's messages open with the file's name, which the upload's message puts first.
    return read.problem.removeprefix(f"{name} ")


def check_files(entries: list[Any], assignment: Assignment) -> list[UploadFile]:
    """Decodes and checks every file; all problems are named in one 422."""
    allowed = {f"{ex}{suffix}": ex for ex in assignment.exercises for suffix in SUFFIXES}
    problems: list[str] = []
    files: list[UploadFile] = []
    seen: dict[str, str] = {}
    for index, entry in enumerate(entries):
        name, data, problem = _decode(entry, index)
        if not problem and name not in allowed:
            problem = (f"is not a file of {assignment.id} (expected "
                       f"{', '.join(ex + '.py' for ex in assignment.exercises)}, or .ipynb)")
        elif not problem and allowed[name] in seen:
            problem = f"{seen[allowed[name]]} is already in this upload for the same exercise"
        elif data is not None and not problem:
            seen[allowed[name]] = name
            problem = _problem(allowed[name], name, data)
        if problem:
            problems.append(f"{shown(name)}: {problem}")
        elif data is not None:
            files.append(UploadFile(name, data))
    if problems:
        raise RequestRejected(422, "cannot be graded, no attempt used: " + "; ".join(problems))
    return files


def parse_upload(body: bytes, course: Course) -> tuple[Assignment, list[Any]]:
    """The assignment and the raw `files` entries (see check_files), or RequestRejected."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestRejected(422, f"the request body is not JSON ({shown(str(exc))})") from None
    except RecursionError:
        raise RequestRejected(422, "the request body nests JSON too deeply to read") from None
    if not isinstance(data, dict) or not isinstance(data.get("assignment"), str) \
            or not isinstance(data.get("files"), list):
        raise RequestRejected(422, 'expected {"assignment": "ID", "files": [{"name": ..., "content": ...}]}')
    known = {a.id: a for a in course.assignments}
    assignment = known.get(data["assignment"])
    if assignment is None:
        raise RequestRejected(404, f"no assignment '{shown(data['assignment'])}' "
                                   f"(assignments: {', '.join(known)})")
    if not data["files"]:
        raise RequestRejected(422, "the upload holds no files")
    if len(data["files"]) > MAX_FILES:
        raise RequestRejected(413, f"{len(data['files'])} files; at most {MAX_FILES} per upload")
    return assignment, data["files"]

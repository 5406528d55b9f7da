"""Checks an upload before it costs an attempt: JSON shape, base64, file names, UTF-8 Python, sizes."""
from __future__ import annotations

import ast
import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from nnlab.course.config import Assignment, Course
from nnlab.errors import RequestRejected

MAX_BODY_BYTES = 8 * 1024 * 1024
"""The largest request body accepted (base64 makes files a third larger)."""
MAX_FILE_BYTES = 1_000_000
"""The largest single file, the same limit the grader puts on a source file."""
MAX_FILES = 32


@dataclass(frozen=True)
class UploadFile:
    """One decoded file of an upload."""

    name: str
    """`ID.py` or `ID.ipynb`, ID an exercise of the assignment."""
    data: bytes


def _problem_in_python(data: bytes) -> str:
    if b"\x00" in data:
        return "is a binary file, not Python source"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
    if not text.strip():
        return "is empty"
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return f"does not parse as Python: {exc.msg} at line {exc.lineno}"
    except ValueError as exc:
        return f"does not parse as Python: {exc}"
    return ""


def _problem_in_notebook(data: bytes) -> str:
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "is not a Jupyter notebook (not UTF-8 JSON)"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return "is not a Jupyter notebook (no list of cells)"
    return ""


def _decode(entry: Any, index: int) -> tuple[str, bytes | None, str]:
    """(name, data, problem) of one entry of the `files` list."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
            or not isinstance(entry.get("content"), str):
        return f"file {index + 1}", None, 'must be {"name": "ID.py", "content": "<base64>"}'
    name = entry["name"]
    if len(entry["content"]) > MAX_FILE_BYTES * 4 // 3 + 4:
        raise RequestRejected(413, f"{name} is larger than {MAX_FILE_BYTES:,} bytes")
    try:
        data = base64.b64decode(entry["content"], validate=True)
    except (binascii.Error, ValueError):
        return name, None, "content is not valid base64"
    return name, data, ""


def check_files(entries: list[Any], assignment: Assignment) -> list[UploadFile]:
    """Decodes and checks every file; all problems are named in one 422."""
    allowed = {f"{ex}{suffix}": ex for ex in assignment.exercises for suffix in (".py", ".ipynb")}
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
            problem = (_problem_in_notebook(data) if name.endswith(".ipynb")
                       else _problem_in_python(data))
        if problem:
            problems.append(f"{name}: {problem}")
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
        raise RequestRejected(422, f"the request body is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("assignment"), str) \
            or not isinstance(data.get("files"), list):
        raise RequestRejected(422, 'expected {"assignment": "ID", "files": [{"name": ..., "content": ...}]}')
    known = {a.id: a for a in course.assignments}
    assignment = known.get(data["assignment"])
    if assignment is None:
        raise RequestRejected(404, f"no assignment '{data['assignment']}' (assignments: {', '.join(known)})")
    if not data["files"]:
        raise RequestRejected(422, "the upload holds no files")
    if len(data["files"]) > MAX_FILES:
        raise RequestRejected(413, f"{len(data['files'])} files; at most {MAX_FILES} per upload")
    return assignment, data["files"]

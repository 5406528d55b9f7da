"""Accounts: random bearer tokens, stored only as SHA-256 hashes; roster CSV import."""
from __future__ import annotations

import csv
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from nnlab.errors import UsageError

INSTRUCTOR = "instructor"
"""The instructor account's name and role."""
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}$")


@dataclass(frozen=True)
class RosterEntry:
    """One row of the roster CSV."""

    student: str
    """The student id: also their folder name in `nnlab collect` output."""
    name: str = ""
    email: str = ""


def new_token() -> str:
    """A bearer token with 256 bits of randomness."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """What the server stores and looks tokens up by; the token itself is never kept."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_roster(path: Path) -> list[RosterEntry]:
    """Parses a roster CSV with a `student` column and optional `name` and `email` columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
            if "student" not in columns:
                raise UsageError(f"{path}: no 'student' column (columns: {', '.join(columns) or 'none'})")
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
                    for row in reader]
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UsageError(f"{path}: cannot be read as CSV ({exc})") from None
    entries: list[RosterEntry] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        student = row.get("student", "")
        if not student:
            continue
        if not _STUDENT_ID.match(student) or student == INSTRUCTOR:
            raise UsageError(f"{path}: line {line}: student id {student!r} must be letters, digits and "
                             f"._@+- (and not '{INSTRUCTOR}')")
        if student in seen:
            raise UsageError(f"{path}: line {line}: student '{student}' is listed twice")
        seen.add(student)
        entries.append(RosterEntry(student, row.get("name", ""), row.get("email", "")))
    return entries


def write_tokens(path: Path, rows: list[tuple[str, str, str]]) -> None:
    """Writes `student,role,token`, readable by its owner only: the tokens are shown this once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise UsageError(f"{path}: already exists; tokens are written once, pick a new file name")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["student", "role", "token"])
        writer.writerows(rows)

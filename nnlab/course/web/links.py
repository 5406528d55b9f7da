"""One-time sign-in links per student, written by `nnlab roster --links`."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from nnlab.course.db import Database
from nnlab.course.web.session import LINK_SECONDS, SessionStore
from nnlab.errors import UsageError


def write_links(data_dir: Path, out: Path, base_url: str, days: float = LINK_SECONDS / 86400) -> int:
    """Writes `student,link` for every student with a working account (readable by its owner
    only); each link signs in once, until it expires. An older unused link of the same student
    stops working. The number of links written."""
    if not base_url.startswith(("http://", "https://")):
        raise UsageError(f"--url {base_url!r}: give the server's address as students open it, "
                         "e.g. https://course.example.edu")
    out = Path(out)
    if out.exists():
        raise UsageError(f"{out}: already exists; links are written once, pick a new file name")
    db = Database(data_dir)
    students = [r["student"] for r in db.query(
        "SELECT student FROM accounts WHERE role = 'student' AND revoked = 0 ORDER BY student")]
    links = SessionStore(db, data_dir).new_links(students, days * 86400)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["student", "link"])
        writer.writerows((s, f"{base_url.rstrip('/')}/login/link/{token}") for s, token in links.items())
    return len(links)

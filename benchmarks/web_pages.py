"""Seconds for the course server to render its browser pages at 300 students x 24 exercises (real server, real HTTP)."""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from nnlab.course.accounts import RosterEntry, new_token
from nnlab.course.db import Database
from nnlab.reports.synthetic import synthetic_class

COURSE = """[course]
name = "Benchmark"
timezone = "UTC"

[[assignment]]
id = "all"
exercises = [{exercises}]
due = "2030-01-01T00:00:00"
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build(root: Path, students: int) -> tuple[str, str]:
    """A course and a data folder with one graded upload per student; the instructor's and a student's token."""
    results = synthetic_class(students)
    ids = [e.id for e in results[0].exercises]
    (root / "course.toml").write_text(COURSE.format(exercises=", ".join(f'"{i}"' for i in ids)))
    names = [r.student or f"s{n}" for n, r in enumerate(results)]
    tokens = {s: t for s, _, t in Database(root / "data").add_accounts([RosterEntry(s) for s in names], new_token)}
    with sqlite3.connect(root / "data" / "course.sqlite3") as conn:
        for n, result in enumerate(results):
            conn.execute("INSERT INTO submissions (id, student, assignment, submitted_at, ts, late_days, files, seed, "
                         "status, result, score, max_score, graded_at) VALUES (?, ?, 'all', ?, ?, 0, '[]', 1, 'done', "
                         "?, ?, ?, ?)", (f"sub{n}", names[n], "2029-12-01T00:00:00+00:00", 1.0 + n,
                                         json.dumps(result.to_json()), result.score, result.max_score,
                                         "2029-12-01T00:00:00+00:00"))
    return tokens["instructor"], tokens[names[0]]


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _sign_in(url: str, token: str) -> urllib.request.OpenerDirector:
    opener = _opener()
    page = opener.open(url + "/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]  # the form has one
    opener.open(url + "/login", urllib.parse.urlencode({"csrf": csrf, "token": token}).encode()).read()
    return opener


def _timed(opener: urllib.request.OpenerDirector, url: str, runs: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        size = len(opener.open(url).read())
        times.append(time.perf_counter() - start)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        teacher, student = build(root, args.students)
        port = _port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen([sys.executable, "-m", "nnlab.cli", "serve", str(root / "course.toml"), "--data",
                                   str(root / "data"), "--port", str(port), "--workers", "1"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(url + "/login").read()
                    break
                except (urllib.error.URLError, ConnectionError):
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            pages = [("instructor", _sign_in(url, teacher), "/instructor"),
                     ("instructor", None, "/instructor/assignments/all"),
                     ("instructor", None, "/instructor/assignments/all/report"),
                     ("student", _sign_in(url, student), "/"),
                     ("student", None, "/submissions/sub0")]
            opener = None
            for who, fresh, path in pages:
                opener = fresh or opener
                assert opener is not None
                median, size = _timed(opener, url + path, args.runs)
                print(f"{who:10s} GET {path:38s} {median * 1000:8.0f} ms median of {args.runs}, {size / 1e3:.0f} kB")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)


if __name__ == "__main__":
    main()

"""Seconds for the course server to render its browser pages at 300 students x 24 exercises (real server, real HTTP)."""
from __future__ import annotations

import argparse
import datetime as dt
import difflib
import http.cookiejar
import json
import os
import re
import shutil
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nnlab.course import extensions
from nnlab.course.accounts import RosterEntry, new_token
from nnlab.course.db import Database
from nnlab.reports.synthetic import synthetic_class

ROOT = Path(__file__).resolve().parent.parent
COURSE = """[course]
name = "Benchmark"
timezone = "UTC"

[[assignment]]
id = "all"
exercises = [{exercises}]
due = "2029-12-01T00:00:00"
late_until = "2029-12-10T00:00:00"
late_penalty_per_day = 0.1
counts = "best"
"""
UTC = "+00:00"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _adjustments(conn: sqlite3.Connection, results: list, names: list[str]) -> None:
    """A few of each kind an instructor adds: a delta on a check, an override on an exercise,
    one that matches nothing, so the pages show adjusted figures and a 'needs a look' line."""
    added = []
    for n in range(0, len(results), 25):
        exercise = results[n].exercises[n % len(results[n].exercises)]
        if exercise.checks:
            added.append((names[n], exercise.id, exercise.checks[0].test_id, "delta", 0.5))
        added.append((names[n], exercise.id, "", "override", exercise.max_score * 0.75))
    added.append((names[1], "no_such_exercise", "", "delta", 1.0))
    for student, exercise, check, kind, points in added:
        conn.execute("INSERT INTO adjustments (assignment, student, exercise, check_id, kind, points, reason, author, "
                     "created_at) VALUES ('all', ?, ?, ?, ?, ?, 'benchmark', 'instructor', ?)",
                     (student, exercise, check, kind, points, "2029-12-02T00:00:00" + UTC))


def build(root: Path, students: int) -> tuple[str, str]:
    """A course and a data folder with a graded upload per student (every 10th student uploads twice,
    the second late; every 7th's only upload is late, one with an extension) and some adjustments;
    the instructor's and a student's token."""
    results = synthetic_class(students)
    ids = [e.id for e in results[0].exercises]
    (root / "course.toml").write_text(COURSE.format(exercises=", ".join(f'"{i}"' for i in ids)))
    names = [r.student or f"s{n}" for n, r in enumerate(results)]
    db = Database(root / "data")
    tokens = {s: t for s, _, t in db.add_accounts([RosterEntry(s) for s in names], new_token)}
    uploads = [(n, "2029-11-30T00:00:00", 0) for n in range(len(results))]
    uploads = [(u[0], "2029-12-03T00:00:00", 2) if u[0] % 7 == 3 else u for u in uploads]
    uploads += [(n, "2029-12-02T12:00:00", 2) for n in range(0, len(results), 10)]
    with sqlite3.connect(root / "data" / "course.sqlite3") as conn:
        for k, (n, when, late) in enumerate(uploads):
            conn.execute("INSERT INTO submissions (id, student, assignment, submitted_at, ts, late_days, files, seed, "
                         "status, result, score, max_score, graded_at, graded) VALUES (?, ?, 'all', ?, ?, ?, '[]', 1, "
                         "'done', ?, ?, ?, ?, 1)", (f"sub{k}", names[n], when + UTC, 1.0 + k, late,
                                                    json.dumps(results[n].to_json()), results[n].score,
                                                    results[n].max_score, when + UTC))
        _adjustments(conn, results, names)
    extensions.grant(db, extensions.Extension("all", names[3], dt.datetime(2029, 12, 5, tzinfo=dt.timezone.utc),
                                              None, 0, "benchmark", "instructor", "2029-12-01T00:00:00" + UTC))
    return tokens["instructor"], tokens[names[0]]


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def _sign_in(url: str, token: str) -> tuple[urllib.request.OpenerDirector, float]:
    """A signed-in browser, and the seconds its sign-in took: the answer follows the redirect to
    the account's first page, so the instructor's is the first page the server reads grades for."""
    opener = _opener()
    page = opener.open(url + "/login").read().decode()
    csrf = re.search(r'name="csrf" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]  # the form has one
    start = time.perf_counter()
    opener.open(url + "/login", urllib.parse.urlencode({"csrf": csrf, "token": token}).encode()).read()
    return opener, time.perf_counter() - start


def _bearer(token: str) -> urllib.request.OpenerDirector:
    opener = _opener()
    opener.addheaders = [("Authorization", f"Bearer {token}")]
    return opener


@contextmanager
def served(root: Path, data: Path, code: Path) -> Iterator[str]:
    """The course server of the nnlab in `code` on `data`; its URL."""
    port = _port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(code)}
    server = subprocess.Popen([sys.executable, "-m", "nnlab.cli", "serve", str(root / "course.toml"), "--data",
                               str(data), "--port", str(port), "--workers", "1"], env=env, cwd=code,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "/login").read()
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)


PAGES = [("instructor", "/instructor"),
         ("instructor", "/instructor/assignments/all"),
         ("instructor", "/instructor/assignments/all/report"),
         ("instructor", "/instructor/assignments/all/scores.csv"),
         ("instructor", "/instructor/assignments/all/canvas.csv"),
         ("instructor", "/instructor/assignments/all/results.json"),
         ("api", "/api/v1/assignments/all/results"),
         ("api", "/api/v1/assignments/all/scores.csv"),
         ("student", "/"),
         ("student", "/assignments/all"),
         ("student", "/submissions/sub0")]


def measure(url: str, teacher: str, student: str, runs: int) -> dict[str, tuple[float, float, bytes]]:
    """The instructor's sign-in's seconds, and each page's first answer's seconds, the median of `runs`
    after it, and its body."""
    instructor, cold = _sign_in(url, teacher)
    openers = {"instructor": instructor, "api": _bearer(teacher), "student": _sign_in(url, student)[0]}
    timed = {"POST /login, then /instructor": (cold, cold, b"")}
    for who, path in PAGES:
        times, body = [], b""
        for _ in range(runs + 1):
            start = time.perf_counter()
            body = openers[who].open(url + path).read()
            times.append(time.perf_counter() - start)
        timed[f"GET {path}"] = (times[0], statistics.median(times[1:]), body)
    return timed


def _normal(body: bytes) -> str:
    """The page without what differs between two sessions: their CSRF tokens."""
    text = body.decode("utf-8")
    return re.sub(r'(name="csrf" value=")[^"]*"', r'\1"', text)


def _baseline_code(rev: str, into: Path) -> Path:
    """The nnlab of git revision `rev`, unpacked into `into` (nothing in the checkout changes)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "nnlab"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also serve the same data with the nnlab of this git "
                        "revision: times side by side, and every answer compared byte for byte")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        teacher, student = build(root, args.students)
        shutil.copytree(root / "data", root / "data-baseline")
        runs = {}
        if args.baseline:
            code = _baseline_code(args.baseline, Path(tempfile.mkdtemp(dir=tmp)))
            with served(root, root / "data-baseline", code) as url:
                runs[args.baseline] = measure(url, teacher, student, args.runs)
        with served(root, root / "data", ROOT) as url:
            runs["this"] = measure(url, teacher, student, args.runs)
        print(f"{args.students} students, {len(PAGES)} pages, load average {os.getloadavg()[0]:.1f}; "
              f"first answer / median of {args.runs} after it, ms (the servers just started: the "
              "instructor's sign-in, which follows to /instructor, reads the grades first)")
        for who, path in [("instructor", "POST /login, then /instructor")] + [(w, f"GET {p}") for w, p in PAGES]:
            line = f"{who:10s} {path:44s}"
            for name, timed in runs.items():
                first, median, body = timed[path]
                line += f"  {name:>8s} {first * 1000:7.0f} / {median * 1000:6.0f}"
            print(line + f"  {len(body) / 1e3:6.0f} kB")
        if args.baseline:
            _compare(runs[args.baseline], runs["this"])


def _compare(before: dict[str, tuple[float, float, bytes]], after: dict[str, tuple[float, float, bytes]]) -> None:
    pages = [path for path in after if path.startswith("GET ")]
    differ = [path for path in pages if _normal(before[path][2]) != _normal(after[path][2])]
    for path in differ:
        diff = difflib.unified_diff(_normal(before[path][2]).splitlines(), _normal(after[path][2]).splitlines(),
                                    "before", "after", lineterm="", n=1)
        print(f"DIFFERS: {path}\n" + "\n".join(list(diff)[:20]))
    print(f"answers identical to the baseline's (CSRF tokens aside): {len(pages) - len(differ)} of {len(pages)}")
    if differ:
        raise SystemExit(1)


if __name__ == "__main__":
    main()

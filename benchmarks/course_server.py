"""Course server figures: accepted uploads/s and upload-to-feedback seconds at 1, 10, 50 students.

    python benchmarks/course_server.py [--workers 2] [--students 1,10,50]

Starts `nnlab serve` on a free port with a throw-away data folder, uploads the my_linear
solution from N students at once, and waits until all are graded. Also times a local
`nnlab submit` of the same file, and the server's own part of one upload (end-to-end minus the
time the checks themselves took). Figures only: shared machines are noisy.
"""
from __future__ import annotations

import argparse
import base64
import concurrent.futures
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from checkout import this_checkout  # beside this script

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "nnlab" / "solutions" / "my_linear.py"
COURSE = """[course]
name = "Benchmark"
timezone = "UTC"

[[assignment]]
id = "hw1"
exercises = ["my_linear"]
due = "2099-01-01T00:00:00"
"""


def call(url: str, token: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method="POST" if data else "GET")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, ConnectionError):
        return 0, None


def start_server(folder: Path, workers: int, students: int = 60, course: str = COURSE
                 ) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """`nnlab serve` of `course` on a free loopback port, with students s000, s001, ... on its roster."""
    from nnlab.course.accounts import RosterEntry, new_token
    from nnlab.course.db import Database

    (folder / "course.toml").write_text(course)
    created = Database(folder / "data").add_accounts(
        [RosterEntry(f"s{i:03d}") for i in range(students)], new_token)
    tokens = {student: token for student, _, token in created}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "nnlab.cli", "serve", str(folder / "course.toml"),
                                "--data", str(folder / "data"), "--port", str(port),
                                "--workers", str(workers)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               env=this_checkout(), cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    while call(url, tokens["instructor"], "/api/v1/assignments")[0] != 200:
        time.sleep(0.2)
    return process, url, tokens


def one_student(url: str, token: str, body: dict[str, Any]) -> tuple[float, float, str]:
    """(seconds to be accepted, seconds from upload to feedback, submission id)."""
    start = time.perf_counter()
    status, accepted = call(url, token, "/api/v1/submissions", body)
    assert status == 202, status
    accepted_s = time.perf_counter() - start
    while True:
        sub = call(url, token, f"/api/v1/submissions/{accepted['id']}")[1]
        if sub["status"] in ("done", "error"):
            return accepted_s, time.perf_counter() - start, accepted["id"]
        time.sleep(0.05)


def round_of(url: str, tokens: dict[str, str], n: int, body: dict[str, Any]) -> list[tuple[float, float, str]]:
    students = [f"s{i:03d}" for i in range(n)]
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda s: one_student(url, tokens[s], body), students))


def engine_seconds(folder: Path) -> float:
    """One warm grading of the same file by the same engine, in this process: no server around it."""
    from nnlab.engine import GradingEngine, StudentJob

    student = folder / "direct"
    student.mkdir()
    (student / "my_linear.py").write_bytes(SOLUTION.read_bytes())
    job = StudentJob(folder=student, student="direct", exercise_ids=("my_linear",), seed=1)
    with GradingEngine(workers=1) as engine:
        engine.grade_student(job)  # start-up and warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            engine.grade_student(job)
            times.append(time.perf_counter() - start)
    return min(times)


def local_submit_seconds(folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nnlab.cli", "submit", str(SOLUTION)], capture_output=True,
                   cwd=folder, check=True, env={**this_checkout(), "XDG_CONFIG_HOME": str(folder)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="grading workers of the server")
    parser.add_argument("--students", default="1,10,50")
    args = parser.parse_args()
    body = {"assignment": "hw1", "files": [{"name": "my_linear.py",
                                            "content": base64.b64encode(SOLUTION.read_bytes()).decode()}]}
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        folder = Path(tmp)
        process, url, tokens = start_server(folder, args.workers)
        try:
            warm = time.perf_counter()
            # Starts the grading engine and every worker's fork server before anything is timed.
            round_of(url, tokens, 2 * args.workers, body)
            print(f"machine: {os.cpu_count()} CPUs; server grading workers: {args.workers}")
            print(f"warm-up, {2 * args.workers} uploads with the engine's start-up: "
                  f"{time.perf_counter() - warm:.1f} s")
            print(f"{'students':>8} {'accepted/s':>11} {'accept p50':>11} {'feedback p50':>13} "
                  f"{'feedback max':>13} {'all graded':>11}")
            for n in (int(x) for x in args.students.split(",")):
                start = time.perf_counter()
                timings = round_of(url, tokens, n, body)
                makespan = time.perf_counter() - start
                accepted = [t[0] for t in timings]
                feedback = [t[1] for t in timings]
                print(f"{n:>8} {n / max(accepted):>11.1f} {statistics.median(accepted):>10.3f}s "
                      f"{statistics.median(feedback):>12.2f}s {max(feedback):>12.2f}s {makespan:>10.1f}s")
            single = min((round_of(url, tokens, 1, body)[0] for _ in range(3)), key=lambda t: t[1])
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
        local = local_submit_seconds(folder)
        graded_in = engine_seconds(folder)
    print(f"one upload, idle server: {single[1]:.2f} s to feedback; the same engine grading the file "
          f"directly: {graded_in:.2f} s; the server adds {single[1] - graded_in:.2f} s "
          "(HTTP, SQLite, queue, polling every 50 ms)")
    print(f"local `nnlab submit my_linear.py` (a fresh process, torch import included): {local:.2f} s")


if __name__ == "__main__":
    main()

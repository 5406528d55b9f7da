"""A deadline rush on the course server: upload-to-feedback p50/p95, the longest wait, queue length.

    python benchmarks/deadline_rush.py [--students 300] [--uploads 1200] [--minutes 10] [--workers 2]
    python benchmarks/deadline_rush.py --students 30 --uploads 120 --minutes 2    # a quick look

Starts `nnlab serve` on a free loopback port with a throw-away data folder and a 3-exercise
assignment, then replays a rush: uploads arrive ever faster towards the deadline, and a few
students upload many times (the eager ones) while most upload once or twice. Every upload is a
real HTTP POST of the reference solutions; the moment each is graded is read from the server's
SQLite file every 0.25 s. Prints the figures, the queue length over time, and how the fair
(round-robin by student) queue treats first uploads against repeated ones. Figures only.
"""
from __future__ import annotations

import argparse
import base64
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_server import ROOT, call, start_server  # the sibling benchmark's helpers

EXERCISES = ("my_linear", "leaky_relu", "custom_sigmoid")
COURSE = """[course]
name = "Rush"
timezone = "UTC"

[[assignment]]
id = "hw1"
exercises = ["my_linear", "leaky_relu", "custom_sigmoid"]
due = "2099-01-01T00:00:00"
attempts_per_hour = 0
"""


def schedule(students: int, uploads: int, seconds: float, seed: int) -> list[tuple[float, str]]:
    """(offset in seconds, student) per upload: everyone once, the rest to a few eager students."""
    rng = random.Random(seed)
    names = [f"s{i:03d}" for i in range(students)]
    who = list(names) + rng.choices(names[: max(1, students // 10)] + names, k=max(0, uploads - students))
    # Arrivals thicken towards the deadline: offset = T * sqrt(u) puts twice the density at the end.
    offsets = sorted(seconds * rng.random() ** 0.5 for _ in who)
    rng.shuffle(who)
    return list(zip(offsets, who))


def body() -> dict[str, object]:
    files = [{"name": f"{ex}.py", "content": base64.b64encode(
        (ROOT / "nnlab" / "solutions" / f"{ex}.py").read_bytes()).decode()} for ex in EXERCISES]
    return {"assignment": "hw1", "files": files}


class Watcher(threading.Thread):
    """Stamps each submission when it is first seen graded, and samples the queue length."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(daemon=True)
        self.db_path = db_path
        self.graded: dict[str, float] = {}
        self.queue: list[tuple[float, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while not self.stop.is_set():
            with sqlite3.connect(self.db_path, timeout=60) as conn:
                now = time.perf_counter()
                for (ident,) in conn.execute("SELECT id FROM submissions WHERE status IN ('done', 'error')"):
                    self.graded.setdefault(ident, now)
                waiting = conn.execute("SELECT COUNT(*) FROM submissions WHERE status = 'queued'").fetchone()[0]
            self.queue.append((now - start, int(waiting)))
            self.stop.wait(0.25)


def rush(url: str, tokens: dict[str, str], plan: list[tuple[float, str]], watcher: Watcher
         ) -> list[tuple[str, float, str, int]]:
    """Posts each upload at its time; (student, posted at, submission id, its turn) per upload."""
    payload = body()
    posted: list[tuple[str, float, str, int]] = []
    turns: dict[str, int] = {}
    lock = threading.Lock()

    def post(student: str) -> None:
        at = time.perf_counter()
        status, accepted = call(url, tokens[student], "/api/v1/submissions", payload)
        if status != 202:
            print(f"upload refused: {status}", file=sys.stderr)
            return
        with lock:
            turns[student] = turns.get(student, 0) + 1
            posted.append((student, at, accepted["id"], turns[student]))

    start = time.perf_counter()
    threads = []
    for offset, student in plan:
        time.sleep(max(0.0, start + offset - time.perf_counter()))
        thread = threading.Thread(target=post, args=(student,))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    while len(watcher.graded) < len(posted):
        time.sleep(0.5)
    return posted


def report(posted: list[tuple[str, float, str, int]], watcher: Watcher, workers: int) -> None:
    waits = [watcher.graded[ident] - at for _, at, ident, _ in posted]
    first = [watcher.graded[ident] - at for _, at, ident, turn in posted if turn == 1]
    later = [watcher.graded[ident] - at for _, at, ident, turn in posted if turn > 1]
    per_student: dict[str, float] = {}
    for (student, _, _, _), wait in zip(posted, waits):
        per_student[student] = max(per_student.get(student, 0.0), wait)

    def pct(values: list[float], q: float) -> float:
        return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")

    print(f"uploads graded: {len(waits)} of {len(posted)} posted, {len(per_student)} students, "
          f"{workers} grading workers")
    print(f"upload-to-feedback: p50 {pct(waits, 0.5):.1f} s, p95 {pct(waits, 0.95):.1f} s, "
          f"longest {max(waits):.1f} s (mean {statistics.mean(waits):.1f} s)")
    print(f"a student's first upload: p50 {pct(first, 0.5):.1f} s, p95 {pct(first, 0.95):.1f} s; "
          f"repeated uploads: p50 {pct(later, 0.5):.1f} s, p95 {pct(later, 0.95):.1f} s")
    print(f"longest wait of any student (their slowest upload): {max(per_student.values()):.1f} s; "
          f"median student's slowest: {statistics.median(per_student.values()):.1f} s")
    peak = max(n for _, n in watcher.queue)
    print(f"queue length: peak {peak}; over time (s: waiting):")
    step = max(1, len(watcher.queue) // 20)
    print("  " + "  ".join(f"{t:.0f}:{n}" for t, n in watcher.queue[::step]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--uploads", type=int, default=1200)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="grading workers of the server")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import os
    import signal

    # A `timeout` or Ctrl-C must still stop the server: its own session outlives this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan = schedule(args.students, max(args.uploads, args.students), args.minutes * 60, args.seed)
    with tempfile.TemporaryDirectory(prefix="nnlab-rush-") as tmp:
        folder = Path(tmp)
        process, url, tokens = start_server(folder, args.workers, args.students, COURSE)
        watcher = Watcher(folder / "data" / "course.sqlite3")
        try:
            watcher.start()
            posted = rush(url, tokens, plan, watcher)
        finally:
            watcher.stop.set()
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)
    print(f"machine: {os.cpu_count()} CPUs; {len(plan)} uploads of {len(EXERCISES)} exercises "
          f"over {args.minutes:g} min")
    report(posted, watcher, args.workers)


if __name__ == "__main__":
    main()

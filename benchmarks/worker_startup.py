"""Prints the time to start a fresh confined worker, and grading time per submission x exercise."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

from nnlab.grader.exercise import get_exercise
from nnlab.grader.launcher import WorkerLauncher
from nnlab.grader.pipeline import grade_file
from nnlab.grader.session import WorkerSession


def worker_start_ms(launcher: WorkerLauncher, runs: int = 30) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        session = WorkerSession(launcher, "x = 1", "x.py", [], [], 30)
        times.append((time.perf_counter() - started) * 1000)
        session.close()
    return times


def main() -> None:
    for confine in (True, False):
        launcher = WorkerLauncher(confine=confine)
        worker_start_ms(launcher, 2)  # boots the fork server; not counted
        times = worker_start_ms(launcher)
        print(f"fresh worker (confine={confine}): median {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms over {len(times)}")
    launcher = WorkerLauncher()
    demo = Path(__file__).resolve().parent.parent / "nnlab" / "demo" / "class" / "ada"
    for path in sorted(demo.glob("*.py")):
        exercise = get_exercise(path.stem)
        started = time.perf_counter()
        result = grade_file(exercise, path.read_text(), path.name, launcher, 1, True).result
        print(f"{exercise.id:<16} {result.score:g}/{result.max_score:g} in "
              f"{time.perf_counter() - started:.1f} s ({len(result.checks)} checks)")


if __name__ == "__main__":
    main()

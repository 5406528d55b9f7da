"""Prints what `nnlab grade` costs at scale: per submission, where the time goes, resume, a looping student.

    python benchmarks/grade_scale.py [--students 40] [--workers 2] [--submits 3]
        [--otter PATH [--otter-runs 5]] [--check-seconds 30] [--skip-looping]

With --otter (the `otter` command of an otter-grader install, see otter_equivalent.py),
`otter run` grades the same exercise, written as otter test cases, in the same run; the
comparison is seconds per submission. Without it, the comparison is with a plain
`nnlab submit` per student (a fresh process per submission).
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from checkout import this_checkout  # beside this script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever copy is installed
SOLUTION = ROOT / "nnlab" / "solutions" / "my_linear.py"
LOOPING = re.sub(r"(\n    def forward\(.*\n)", r"\1        while True:\n            pass\n",
                 SOLUTION.read_text(), count=1)


def _nnlab(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          env=this_checkout(), cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"nnlab {' '.join(args)} failed:\n{done.stderr}")
    return time.perf_counter() - started, done


def _make_class(root: Path, students: int) -> Path:
    for index in range(students):
        folder = root / "class" / f"student{index:03d}"
        folder.mkdir(parents=True)
        shutil.copy(SOLUTION, folder / "my_linear.py")
    return root / "class"


def batch(root: Path, students: int, workers: int) -> float:
    """The whole class through `nnlab grade`, then the same again (the resume)."""
    class_dir = _make_class(root, students)
    out = root / "out"
    wall, _ = _nnlab("grade", str(class_dir), "--out", str(out), "--workers", str(workers))
    results = json.loads((out / "results.json").read_text())
    checks = [c for r in results for e in r["exercises"] for c in e["checks"]]
    timing = sum(c["duration_s"] for c in checks if c["test_id"] == "test_speed")
    gradients = sum(c["duration_s"] for c in checks if c["test_id"] == "test_gradients")
    in_checks = sum(c["duration_s"] for c in checks)
    full = sum(r["score"] == r["max_score"] for r in results)
    print(f"nnlab grade, {students} students x my_linear, --workers {workers}: {wall:.1f} s wall, "
          f"{wall / students:.2f} s per submission-exercise ({full}/{students} full marks)")
    print(f"  checks' own durations: {in_checks:.1f} s in all (timing check {timing:.1f} s, "
          f"gradients {gradients:.1f} s, the other checks {in_checks - timing - gradients:.1f} s); "
          f"spread over {workers} workers that is {in_checks / workers:.1f} s of the wall time")
    from nnlab.reports import write_class_report
    from nnlab.results import result_from_json

    started = time.perf_counter()
    write_class_report([result_from_json(r) for r in results], ("my_linear",), root / "rendered")
    print(f"  report rendering (class report, {students} student reports, exports): "
          f"{time.perf_counter() - started:.1f} s")
    again, done = _nnlab("grade", str(class_dir), "--out", str(out), "--workers", str(workers))
    started_workers = "Dask worker" in done.stderr
    print(f"resume over the unchanged class: {again:.1f} s wall "
          f"({'a worker was started' if started_workers else 'no worker started'})")
    return wall / students


def otter_side_by_side(root: Path, otter: str, runs: int, nnlab_per_submission: float) -> None:
    """`otter run` of the same exercise and solution, one submission at a time, as otter does."""
    import otter_equivalent

    autograder, notebook = otter_equivalent.build(root / "otter", SOLUTION, otter)
    figures = [otter_equivalent.run_once(otter, autograder, notebook, root / "otter" / f"out{i}")
               for i in range(runs)]
    seconds = [f[0] for f in figures]
    mean = sum(seconds) / len(seconds)
    print(f"otter run, my_linear as {len(otter_equivalent.TESTS.split('@test_case')) - 1} otter "
          f"test cases: {mean:.2f} s per submission (mean of {runs}, min {min(seconds):.2f} s; "
          f"score {figures[0][1]:g}/{figures[0][2]:g})")
    print(f"  nnlab grade: {nnlab_per_submission:.3f} s per submission-exercise, "
          f"{mean / nnlab_per_submission:.0f}x fewer seconds than otter (goal: 100x)")


def _warm_process() -> tuple[Any, Any]:
    """A launcher and a my_linear request, graded once: fork server up, checks collected."""
    from nnlab.grader.launcher import WorkerLauncher
    from nnlab.grader.pipeline import GradeRequest, grade_student

    folder = Path(tempfile.mkdtemp()) / "s"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "my_linear.py")
    launcher = WorkerLauncher()
    request = GradeRequest(folder, student="s", seed=1, exercise_ids=("my_linear",))
    grade_student(request, launcher)  # warm: fork server, collection
    return launcher, request


def phases(students: int = 10) -> None:
    """Where a warm grading process spends a student's time, by wall clock (no profiler)."""
    from nnlab.grader import session as worker_session
    from nnlab.grader.pipeline import grade_student

    launcher, request = _warm_process()
    starting = [0.0]
    original = worker_session.WorkerSession.__init__

    def timed_init(self: worker_session.WorkerSession, *args: object, **kwargs: object) -> None:
        began = time.perf_counter()
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        starting[0] += time.perf_counter() - began

    worker_session.WorkerSession.__init__ = timed_init  # type: ignore[method-assign]
    try:
        began = time.perf_counter()
        results = [grade_student(request, launcher) for _ in range(students)]
        each = (time.perf_counter() - began) / students
    finally:
        worker_session.WorkerSession.__init__ = original  # type: ignore[method-assign]
    checks = [c for r in results for e in r.exercises for c in e.checks]
    own = {c.test_id: 0.0 for c in checks}
    for c in checks:
        own[c.test_id] += c.duration_s / students
    start = starting[0] / students
    in_checks = sum(own.values())  # a check's duration is its call alone; the worker starts before
    print(f"a warm grading process, {each * 1000:.0f} ms per student (my_linear, wall clock):")
    print(f"  starting {len(own)} confined workers and loading the file: {start * 1000:.0f} ms")
    for test_id, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:3]:
        print(f"  {test_id}: {seconds * 1000:.0f} ms")
    print(f"  all {len(own)} checks' own work: {in_checks * 1000:.0f} ms; pytest and results "
          f"around them: {(each - start - in_checks) * 1000:.0f} ms")


def cluster_start(workers: int) -> None:
    """Seconds until an embedded cluster has graded its first (tiny) student on each worker."""
    from nnlab.engine import GradingEngine, StudentJob

    folder = Path(tempfile.mkdtemp()) / "s"
    folder.mkdir()
    shutil.copy(SOLUTION, folder / "my_linear.py")
    started = time.perf_counter()
    with GradingEngine(workers=workers) as engine:
        engine.client.wait_for_workers(workers)
        up = time.perf_counter() - started
        jobs = [StudentJob(folder, f"s{i}", ("my_linear",), 1) for i in range(workers)]
        engine.grade_many(jobs, lambda graded: None)
        first = time.perf_counter() - started
    print(f"worker start: cluster of {workers} up in {up:.1f} s; first student on each worker "
          f"done at {first:.1f} s (fork server boot, torch import, first collection)")


def profile(students: int = 5) -> None:
    """Where one grading process spends a student's time, once warm."""
    from nnlab.grader.pipeline import grade_student

    launcher, request = _warm_process()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(students):
        grade_student(request, launcher)
    profiler.disable()
    each = (time.perf_counter() - started) / students
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(
        r"nnlab|_pytest/runner|multiprocessing/(connection|popen)", 18)
    print(f"profile of a warm grading process: {each:.2f} s per student (my_linear, under cProfile)")
    print("\n".join(line for line in text.getvalue().splitlines()[6:] if line.strip()))


def one_by_one(root: Path, submits: int) -> None:
    """`nnlab submit` per student: a fresh process (torch import, fork server) every time."""
    folder = root / "one" / "my_linear.py"
    folder.parent.mkdir(parents=True)
    shutil.copy(SOLUTION, folder)
    times = [_nnlab("submit", str(folder))[0] for _ in range(submits)]
    print(f"nnlab submit one by one: {sum(times) / len(times):.1f} s per submission "
          f"(mean of {submits}; a fresh process, torch imported, each time)")


def looping(check_seconds: float) -> None:
    """A forward that never returns: the exercise's cost with and without the budget."""
    from nnlab.grader import runner
    from nnlab.grader.exercise import get_exercise
    from nnlab.grader.launcher import WorkerLauncher
    from nnlab.grader.pipeline import grade_file

    exercise = dataclasses.replace(get_exercise("my_linear"), check_seconds=check_seconds)
    launcher = WorkerLauncher()
    grade_file(exercise, SOLUTION.read_text(), "my_linear.py", launcher, 1, True)  # warm
    record = runner._ChecksPlugin._record

    def without_budget(self: runner._ChecksPlugin, test_id: str, verdict: runner._Verdict) -> None:
        self.verdicts[test_id] = verdict  # as before: every check waits out its own limit

    for label, patched in (("before (each check waits its limit)", without_budget),
                           ("after (one limit per exercise)", record)):
        runner._ChecksPlugin._record = patched  # type: ignore[method-assign]
        started = time.perf_counter()
        result = grade_file(exercise, LOOPING, "my_linear.py", launcher, 1, True).result
        took = time.perf_counter() - started
        timeouts = sum(c.outcome.value == "timeout" for c in result.checks)
        print(f"looping student, {label}: {took:.1f} s with a {check_seconds:g} s check limit "
              f"({took / check_seconds:.1f} limits; {timeouts}/{len(result.checks)} checks timeout)")
    runner._ChecksPlugin._record = record  # type: ignore[method-assign]


def main() -> None:
    assert "while True" in LOOPING
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--submits", type=int, default=3)
    parser.add_argument("--check-seconds", type=float, default=30.0,
                        help="the looping student's check limit (the catalogue's: 30 s; the "
                             "'before' run waits it out on every check, minutes)")
    parser.add_argument("--skip-looping", action="store_true")
    parser.add_argument("--otter", help="the otter command to compare with (otter-grader)")
    parser.add_argument("--otter-runs", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nnlab-grade-scale-"))
    try:
        per_submission = batch(root, args.students, args.workers)
        if args.otter:
            otter_side_by_side(root, args.otter, args.otter_runs, per_submission)
        one_by_one(root, args.submits)
        cluster_start(args.workers)
        phases()
        profile()
        if not args.skip_looping:
            looping(args.check_seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

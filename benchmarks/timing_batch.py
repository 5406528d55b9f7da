"""Grades one class of fast, slow and cheating submissions with `nnlab grade`, several times,
and prints whether every speed verdict is the expected one, every time.

The class is built in a temporary folder, one student per kind of submission:

- ``vectorized``: every timed exercise's solution;
- ``different-N``: correct solutions written differently (tests/mutants/<id>/ files marked
  ``# nnlab-expect: full``);
- ``loop``, ``loop-N``: correct values from Python loops (tests/timing_variants/*_loop*.py);
- ``cache``: loops that memoize results by input (tests/timing_variants/*_cache.py);
- ``hides-<how>``: slow code that hides its work from the clock (*_hides_<how>.py).

Expected: test_speed passes for vectorized and different-*, and does not pass (failed, or an
error for a refused result) for all others. Every run grades the whole class in one
`nnlab grade` call, with a new secret seed each time, as an instructor would. It also
prints the seconds the timing checks took per student and the rounds they took.

    python benchmarks/timing_batch.py --runs 20 --workers 2
    python benchmarks/timing_batch.py --runs 20 --workers 2 --lock off   # measurements overlap

Exit status 0 when every verdict was as expected in every run.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "tests" / "timing_variants"
MUTANTS = ROOT / "tests" / "mutants"
EXERCISES = ROOT / "nnlab" / "exercises"
SOLUTIONS = ROOT / "nnlab" / "solutions"
FAST = ("vectorized", "different")


def build_class(folder: Path, only: set[str] | None) -> dict[tuple[str, str], str]:
    """Writes CLASS/<student>/<id>.py; returns {(student, id): the file it came from}."""
    timed = sorted(p.name for p in EXERCISES.iterdir() if (p / "test_timing.py").is_file()
                   and (only is None or p.name in only))
    placed: dict[tuple[str, str], str] = {}

    def put(student: str, exercise_id: str, source: Path) -> None:
        target = folder / student / f"{exercise_id}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        placed[(student, exercise_id)] = str(source.relative_to(ROOT))

    for exercise_id in timed:
        put("vectorized", exercise_id, SOLUTIONS / f"{exercise_id}.py")
        correct = [p for p in sorted((MUTANTS / exercise_id).glob("*.py"))
                   if re.search(r"#\s*nnlab-expect:\s*full\b", p.read_text(encoding="utf-8"))]
        for k, path in enumerate(correct, 1):
            put(f"different-{k}", exercise_id, path)
        for k, path in enumerate(sorted(VARIANTS.glob(f"{exercise_id}_loop*.py")), 1):
            put("loop" if k == 1 else f"loop-{k}", exercise_id, path)
        for k, path in enumerate(sorted(VARIANTS.glob(f"{exercise_id}_cache*.py")), 1):
            put("cache" if k == 1 else f"cache-{k}", exercise_id, path)
        for path in sorted(VARIANTS.glob(f"{exercise_id}_hides_*.py")):
            put(f"hides-{path.stem.split('_hides_')[1]}", exercise_id, path)
    return placed


def speed_verdicts(results_json: Path) -> dict[tuple[str, str], tuple[str, float | None, str,
                                                                   float, int | None]]:
    """{(student, id): (test_speed outcome, ratio or None, message, seconds, rounds or None)}
    from one run's results.json."""
    verdicts = {}
    for student in json.loads(results_json.read_text(encoding="utf-8")):
        for exercise in student["exercises"]:
            for check in exercise["checks"]:
                if check["test_id"] == "test_speed":
                    timing = check.get("timing") or {}
                    verdicts[(student["student"], exercise["id"])] = (
                        check["outcome"], timing.get("ratio"), check.get("message") or "",
                        float(check.get("duration_s") or 0.0), timing.get("rounds"))
    return verdicts


def expected_to_pass(student: str) -> bool:
    return student.split("-")[0] in FAST


@dataclasses.dataclass
class Tally:
    """Everything the runs saw, filled in run by run."""

    seen: dict[tuple[str, str], list[str]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list))
    """(student, id) -> test_speed's outcome in each run."""
    ratios: dict[tuple[str, str], list[float]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list))
    """(student, id) -> the measured ratio in each run that measured one."""
    seconds: list[float] = dataclasses.field(default_factory=list)
    """The timing checks' seconds, per run and student (lock waits included)."""
    rounds: dict[str, list[int]] = dataclasses.field(
        default_factory=lambda: collections.defaultdict(list))
    """'pass' or 'no pass' -> the counted rounds of each measured verdict."""
    walls: list[float] = dataclasses.field(default_factory=list)
    """Wall seconds of each `nnlab grade`."""

    def add(self, results_json: Path) -> dict[tuple[str, str], str]:
        """Takes in one run's results; returns its messages."""
        messages: dict[tuple[str, str], str] = {}
        per_student: dict[str, float] = collections.defaultdict(float)
        for key, (outcome, ratio, message, took, taken) in speed_verdicts(results_json).items():
            self.seen[key].append(outcome)
            messages[key] = message
            per_student[key[0]] += took
            if ratio is not None:
                self.ratios[key].append(ratio)
            if taken is not None:
                self.rounds["pass" if outcome == "passed" else "no pass"].append(taken)
        self.seconds += per_student.values()
        return messages


def report(placed: dict[tuple[str, str], str], tally: Tally, runs: int) -> int:
    """Prints the table and the summary; the exit status."""
    header = (f"{'exercise':<15} {'student':<18} {'expected':<8} {'verdicts':<26} {'flip':>5} "
              f"{'ratio med':>9} {'min':>7} {'max':>7}")
    print()
    print(header)
    print("-" * len(header))
    unexpected = 0
    worst_flip = 0.0
    for student, exercise_id in sorted(placed, key=lambda k: (k[1], k[0])):
        verdicts = tally.seen[(student, exercise_id)]
        counts = collections.Counter(verdicts)
        flip = 1 - counts.most_common(1)[0][1] / len(verdicts)
        worst_flip = max(worst_flip, flip)
        expect = "pass" if expected_to_pass(student) else "no pass"
        unexpected += sum((v == "passed") != expected_to_pass(student) for v in verdicts)
        r = sorted(tally.ratios[(student, exercise_id)])
        stats = (f"{r[len(r) // 2]:9.2f} {r[0]:7.2f} {r[-1]:7.2f}" if r
                 else f"{'-':>9} {'-':>7} {'-':>7}")
        text = " ".join(f"{k}:{v}" for k, v in counts.most_common())
        print(f"{exercise_id:<15} {student:<18} {expect:<8} {text:<26} {flip:5.0%} {stats}")
    students = len({s for s, _ in placed})
    print(f"\nunexpected verdicts: {unexpected} of {len(placed) * runs}; "
          f"worst flip rate: {worst_flip:.0%}")
    print(f"timing checks: {statistics.mean(tally.seconds):.2f} s per student on average (lock "
          f"waits included; {students} students x {runs} runs); `nnlab grade` "
          f"{statistics.median(tally.walls):.1f} s wall per run (median)")
    for verdict, taken in sorted(tally.rounds.items()):
        print(f"counted rounds of measured {verdict} verdicts: mean {statistics.mean(taken):.1f}, "
              f"{dict(sorted(collections.Counter(taken).items()))}")
    return 0 if unexpected == 0 and worst_flip == 0 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="nnlab grade --workers")
    parser.add_argument("--exercise", action="append", help="only these exercises (repeatable)")
    parser.add_argument("--keep", type=Path, help="keep the class folder and reports here")
    parser.add_argument("--lock", help="NNLAB_TIMING_LOCK for the graders: cores (default), "
                                       "machine, off or a number of measurements at once")
    args = parser.parse_args()
    env = dict(os.environ)
    # This checkout's nnlab, whatever copy is installed; the lock setting reaches every worker.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if args.lock is not None:
        env["NNLAB_TIMING_LOCK"] = args.lock

    work = Path(tempfile.mkdtemp(prefix="nnlab-timing-batch-"))
    if args.keep:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    class_dir = work / "class"
    placed = build_class(class_dir, set(args.exercise) if args.exercise else None)
    print(f"{len({s for s, _ in placed})} students, {len(placed)} submissions, {args.runs} runs "
          f"of `nnlab grade --workers {args.workers}`; lock: "
          f"{env.get('NNLAB_TIMING_LOCK', 'cores')}", flush=True)

    tally = Tally()
    for run in range(args.runs):
        out = work / f"run-{run}"
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "nnlab.cli", "grade", str(class_dir),
                               "--out", str(out), "--workers", str(args.workers)],
                              capture_output=True, text=True, env=env, cwd=ROOT)
        if done.returncode != 0:
            print(f"run {run}: nnlab grade exited {done.returncode}: {done.stderr.strip()[-500:]}")
            return 2
        tally.walls.append(time.monotonic() - started)
        messages = tally.add(out / "results.json")
        wrong = [k for k in placed if (tally.seen[k][-1] == "passed") != expected_to_pass(k[0])]
        print(f"run {run + 1}: {tally.walls[-1]:.0f} s, "
              f"{len(wrong)} unexpected verdict(s) {wrong if wrong else ''}", flush=True)
        for key in wrong:  # why: the one thing worth reading when a verdict flips
            print(f"    {key[0]}/{key[1]}: {tally.seen[key][-1]}: {messages.get(key, '')[:400]}")
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    status = report(placed, tally, args.runs)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

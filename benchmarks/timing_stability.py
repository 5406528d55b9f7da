"""Grades the same submissions many times and prints how stable the timing verdicts are.

For every timed exercise it grades the solution (vectorized), the Python-loop variants and
any cache-gaming or work-hiding variant from tests/timing_variants/, each --runs times with
a new seed each time (as real runs get a new secret seed), and prints per submission: the verdicts
seen, the flip rate (runs whose verdict differs from the most common one), the ratio
(median, min-max, and its spread across runs: IQR / median), the rounds each measurement
took (calibrating round included, warm-up not) and the seconds of the check.

It then prints how far a single round strayed from its submission's median ratio (over all
runs): the figure that bounds the sequential decision's first look (tuning.EARLY_FACTOR),
which decides from the calibrating round and the first counted one alone.

    python benchmarks/timing_stability.py                 # 20 runs, timing checks only
    python benchmarks/timing_stability.py --runs 5 --exercise my_linear --full
    python benchmarks/timing_stability.py --jobs 2 --lock off   # two graders at once, no lock
    python benchmarks/timing_stability.py --exercise my_linear --threshold-scale 0.4  # near it
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "tests" / "timing_variants"
sys.path.insert(0, str(ROOT))  # this checkout's nnlab, whatever copy is installed


def _timing_only(exercise, scale: float):  # torch-heavy imports stay inside
    from nnlab.grader.exercise import Exercise

    class TimingOnly(Exercise):
        def check_files(self, include_hidden: bool) -> list[Path]:
            return [self.folder / "test_timing.py"]

    fields = {f.name: getattr(exercise, f.name) for f in dataclasses.fields(exercise)}
    fields["timing_thresholds"] = {k: v * scale for k, v in exercise.timing_thresholds.items()}
    return TimingOnly(**fields)


def _submissions(exercise) -> list[tuple[str, Path]]:
    found = [("vectorized", exercise.solution_path)]
    for pattern in (f"{exercise.id}_loop*.py", f"{exercise.id}_cache*.py",
                    f"{exercise.id}_hides_*.py"):
        found += [(p.stem.removeprefix(f"{exercise.id}_"), p) for p in sorted(VARIANTS.glob(pattern))]
    return found


def _record_rounds() -> list[tuple[int, int, float]]:
    """Every round measured from now on, as (measurement id, calls of the student, ratio)."""
    from nnlab.grader.timing import measurement

    seen: list[tuple[int, int, float]] = []
    original = measurement.Measurement.round

    def recorded(self, n_student, n_reference, student_first, **kwargs):
        sample = original(self, n_student, n_reference, student_first, **kwargs)
        seen.append((id(self), n_student, sample.ratio))
        return sample

    measurement.Measurement.round = recorded  # type: ignore[method-assign]
    return seen


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """{"device": ..., "rows": {"exercise/label": {...}}}: everything the report prints."""
    from nnlab.grader.exercise import EXERCISES_DIR, load_exercise
    from nnlab.grader.launcher import WorkerLauncher
    from nnlab.grader.runner import run_checks, timing_device
    from nnlab.grader.timing import describe_device, timing_threads

    ids = sorted(f.name for f in EXERCISES_DIR.iterdir() if (f / "test_timing.py").is_file())
    if args.exercise:
        ids = [i for i in ids if i in args.exercise]
    launcher = WorkerLauncher()
    device = timing_device()
    rounds_seen = _record_rounds()
    rows: dict[str, Any] = {}
    for exercise_id in ids:
        exercise = load_exercise(EXERCISES_DIR / exercise_id)
        graded = exercise if args.full else _timing_only(exercise, args.threshold_scale)
        for label, path in _submissions(exercise):
            if args.only and label.split("_")[0] not in args.only:
                continue
            source = path.read_text(encoding="utf-8")
            row: dict[str, Any] = {"verdicts": [], "ratios": [], "threshold": float("nan"),
                                   "seconds": [], "rounds": []}
            for run in range(args.runs):
                del rounds_seen[:]
                started = time.monotonic()
                result = run_checks(graded, source, f"{exercise_id}.py", launcher,
                                    seed=args.seed + run, include_hidden=True)
                row["seconds"].append(time.monotonic() - started)
                (speed,) = [c for c in result.results if c.test_id == "test_speed"]
                row["verdicts"].append(speed.outcome.value)
                if speed.timing is not None:
                    row["ratios"].append(speed.timing.ratio)
                    row["threshold"] = speed.timing.threshold
                # Full-size rounds only: the warm-up's one call each is not a round.
                row["rounds"].append([r for _, n, r in rounds_seen][1:])
            rows[f"{exercise_id}/{label}"] = row
            if args.dump is None:
                print(_line(f"{exercise_id}/{label}", row), flush=True)
    return {"device": describe_device(device, timing_threads(device)), "rows": rows}


def _line(key: str, row: dict[str, Any]) -> str:
    exercise_id, label = key.split("/", 1)
    counts = collections.Counter(row["verdicts"])
    flip = 1 - counts.most_common(1)[0][1] / len(row["verdicts"])
    seen = " ".join(f"{k}:{v}" for k, v in counts.most_common())
    ratios = row["ratios"]
    if ratios:
        med = statistics.median(ratios)
        q1, _, q3 = (statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) >= 2
                     else (med, med, med))
        stats = f"{med:9.2f} {min(ratios):7.2f} {max(ratios):7.2f} {(q3 - q1) / med:7.1%}"
    else:
        stats = f"{'-':>9} {'-':>7} {'-':>7} {'-':>7}"
    taken = [len(r) for r in row["rounds"]]
    rounds = f"{statistics.mean(taken):4.1f} {min(taken)}-{max(taken)}" if taken else "-"
    return (f"{exercise_id:<15} {label:<20} {seen:<24} {flip:5.0%} {stats} "
            f"{row['threshold']:5g} {rounds:>8} {statistics.mean(row['seconds']):6.2f}")


def _departures(rows: dict[str, Any]) -> None:
    """How far single counted rounds strayed from their submission's median (all runs
    pooled); the calibrating round apart (it does not count, and reads the student slow)."""
    for what, pick in (("counted rounds", lambda rounds: rounds[1:]),
                       ("calibrating rounds", lambda rounds: rounds[:1])):
        worst_up, worst_down, total, beyond = 1.0, 1.0, 0, collections.Counter()
        for key, row in rows.items():
            counted = [r for rounds in row["rounds"] for r in rounds[1:]]
            if not counted or "hides" in key:  # a refused result measures nothing honest
                continue
            median = statistics.median(counted)
            for r in (r for rounds in row["rounds"] for r in pick(rounds)):
                total += 1
                worst_up, worst_down = max(worst_up, r / median), max(worst_down, median / r)
                for factor in (1.3, 1.6, 2.0):
                    beyond[factor] += max(r / median, median / r) > factor
        print(f"{what} against their submission's median counted round: {total} rounds; "
              f"largest departure x{worst_up:.2f} up, /{worst_down:.2f} down; beyond 1.3x: "
              f"{beyond[1.3]}, beyond 1.6x: {beyond[1.6]}, beyond 2x: {beyond[2.0]}")


def report(data: dict[str, Any], header_only: bool = False) -> int:
    """Prints the table (unless already printed line by line) and the summary; exit status."""
    rows = data["rows"]
    if not header_only:
        for key, row in rows.items():
            print(_line(key, row))
    worst_flip = max((1 - collections.Counter(r["verdicts"]).most_common(1)[0][1]
                      / len(r["verdicts"]) for r in rows.values()), default=0.0)
    _departures(rows)
    seconds = [s for r in rows.values() for s in r["seconds"]]
    print(f"worst flip rate: {worst_flip:.0%}; {len(seconds)} measurements, "
          f"{statistics.mean(seconds) if seconds else math.nan:.2f} s each on average")
    return 0 if worst_flip == 0 else 1


def _run_jobs(args: argparse.Namespace) -> dict[str, Any]:
    """`--jobs` copies of this script at once (different seeds), their figures merged."""
    folder = Path(tempfile.mkdtemp(prefix="nnlab-timing-stability-"))
    argv = list(sys.argv[1:])
    children = []
    for job in range(args.jobs):
        dump = folder / f"job-{job}.json"
        children.append((dump, subprocess.Popen(
            [sys.executable, __file__, *argv, "--jobs", "1", "--dump", str(dump),
             "--seed", str(args.seed + 100_000 * job)])))
    merged: dict[str, Any] = {"device": "", "rows": {}}
    for dump, child in children:
        if child.wait() not in (0, 1):
            raise SystemExit(f"a job failed (exit {child.returncode})")
        part = json.loads(dump.read_text(encoding="utf-8"))
        merged["device"] = part["device"]
        for key, row in part["rows"].items():
            into = merged["rows"].setdefault(key, {"verdicts": [], "ratios": [], "seconds": [],
                                                   "threshold": row["threshold"], "rounds": []})
            for field in ("verdicts", "ratios", "seconds", "rounds"):
                into[field] += row[field]
    shutil.rmtree(folder, ignore_errors=True)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--exercise", action="append", help="only these exercises (repeatable)")
    parser.add_argument("--only", action="append",
                        help="only these submissions: vectorized, loop, cache, hides (repeatable)")
    parser.add_argument("--full", action="store_true",
                        help="grade every check (the timing check then sees the correctness gate)")
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first run")
    parser.add_argument("--threshold-scale", type=float, default=1.0,
                        help="multiply every limit by this (e.g. 0.4 puts my_linear's solution "
                             "near its limit, to see the full protocol)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="graders at once, in separate processes (their timings contend)")
    parser.add_argument("--lock",
                        help="NNLAB_TIMING_LOCK for this run: cores (default), machine, off or N")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.lock is not None:
        os.environ["NNLAB_TIMING_LOCK"] = args.lock  # read by every grader process started below

    header = (f"{'exercise':<15} {'submission':<20} {'verdicts':<24} {'flip':>5} "
              f"{'ratio med':>9} {'min':>7} {'max':>7} {'spread':>7} {'thr':>5} "
              f"{'rounds':>8} {'s/run':>6}")
    if args.jobs > 1:
        data = _run_jobs(args)
        print(f"device: {data['device']}; {args.jobs} jobs at once x {args.runs} runs each; "
              f"lock: {os.environ.get('NNLAB_TIMING_LOCK', 'cores')}")
        print(header)
        print("-" * len(header))
        return report(data)
    if args.dump is None:
        print(f"{args.runs} runs each; {'all checks' if args.full else 'timing check only'}; lock: "
              f"{os.environ.get('NNLAB_TIMING_LOCK', 'cores')}", flush=True)
        print(header)
        print("-" * len(header), flush=True)
    data = measure(args)
    if args.dump is not None:
        args.dump.write_text(json.dumps(data), encoding="utf-8")
        return 0
    print(f"device: {data['device']}")
    return report(data, header_only=True)


if __name__ == "__main__":
    sys.exit(main())

"""Grades the same submissions many times and prints how stable the timing verdicts are.

For every timed exercise it grades the solution (vectorized), the Python-loop variants and
any cache-gaming or work-hiding variant from tests/timing_variants/, each --runs times with
a new seed each time (as real runs get a new secret seed), and prints per submission: the verdicts
seen, the flip rate (runs whose verdict differs from the most common one), and the ratio
(median, min-max, and its spread across runs: IQR / median).

    python benchmarks/timing_stability.py                 # 20 runs, timing checks only
    python benchmarks/timing_stability.py --runs 5 --exercise my_linear --full
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ROOT / "tests" / "timing_variants"


def _timing_only(exercise):  # noqa: ANN001, ANN202 - torch-heavy imports stay inside main()
    from nnlab.grader.exercise import Exercise

    class TimingOnly(Exercise):
        def check_files(self, include_hidden: bool) -> list[Path]:
            return [self.folder / "test_timing.py"]

    return TimingOnly(**{f.name: getattr(exercise, f.name) for f in dataclasses.fields(exercise)})


def _submissions(exercise) -> list[tuple[str, Path]]:  # noqa: ANN001
    found = [("vectorized", exercise.solution_path)]
    for pattern in (f"{exercise.id}_loop*.py", f"{exercise.id}_cache*.py",
                    f"{exercise.id}_hides_*.py"):
        found += [(p.stem.removeprefix(f"{exercise.id}_"), p) for p in sorted(VARIANTS.glob(pattern))]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--exercise", action="append", help="only these exercises (repeatable)")
    parser.add_argument("--full", action="store_true",
                        help="grade every check (the timing check then sees the correctness gate)")
    parser.add_argument("--seed", type=int, default=1000, help="seed of the first run")
    args = parser.parse_args()

    import torch

    from nnlab.grader.exercise import EXERCISES_DIR, load_exercise
    from nnlab.grader.launcher import WorkerLauncher
    from nnlab.grader.runner import run_checks, timing_device
    from nnlab.grader.timing import describe_device, timing_threads

    ids = sorted(f.name for f in EXERCISES_DIR.iterdir() if (f / "test_timing.py").is_file())
    if args.exercise:
        ids = [i for i in ids if i in args.exercise]
    launcher = WorkerLauncher()
    device = timing_device()
    print(f"device: {describe_device(device, timing_threads(device))}; {args.runs} runs each; "
          f"{'all checks' if args.full else 'timing check only'}", flush=True)
    header = (f"{'exercise':<15} {'submission':<20} {'verdicts':<24} {'flip':>5} "
              f"{'ratio med':>9} {'min':>7} {'max':>7} {'spread':>7} {'thr':>5} {'s/run':>6}")
    print(header)
    print("-" * len(header), flush=True)
    worst_flip = 0.0
    for exercise_id in ids:
        exercise = load_exercise(EXERCISES_DIR / exercise_id)
        graded = exercise if args.full else _timing_only(exercise)
        for label, path in _submissions(exercise):
            source = path.read_text(encoding="utf-8")
            verdicts: list[str] = []
            ratios: list[float] = []
            threshold = float("nan")
            started = time.monotonic()
            for run in range(args.runs):
                result = run_checks(graded, source, f"{exercise_id}.py", launcher,
                                    seed=args.seed + run, include_hidden=True)
                (speed,) = [c for c in result.results if c.test_id == "test_speed"]
                verdicts.append(speed.outcome.value)
                if speed.timing is not None:
                    ratios.append(speed.timing.ratio)
                    threshold = speed.timing.threshold
            seconds = (time.monotonic() - started) / args.runs
            counts = collections.Counter(verdicts)
            flip = 1 - counts.most_common(1)[0][1] / len(verdicts)
            worst_flip = max(worst_flip, flip)
            seen = " ".join(f"{k}:{v}" for k, v in counts.most_common())
            if ratios:
                med = statistics.median(ratios)
                if len(ratios) >= 2:
                    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
                else:
                    q1 = q3 = med
                stats = f"{med:9.2f} {min(ratios):7.2f} {max(ratios):7.2f} {(q3 - q1) / med:7.1%}"
            else:
                stats = f"{'-':>9} {'-':>7} {'-':>7} {'-':>7}"
            print(f"{exercise_id:<15} {label:<20} {seen:<24} {flip:5.0%} {stats} "
                  f"{threshold:5g} {seconds:6.1f}", flush=True)
    print(f"worst flip rate: {worst_flip:.0%} (torch {torch.__version__})")
    return 0 if worst_flip == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

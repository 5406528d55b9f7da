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
`nnlab grade` call, with a new secret seed each time, as an instructor would.

    python benchmarks/timing_batch.py --runs 20 --workers 2

Exit status 0 when every verdict was as expected in every run.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
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


def speed_verdicts(results_json: Path) -> dict[tuple[str, str], tuple[str, float | None, str]]:
    """{(student, id): (test_speed outcome, ratio or None, message)} from one run's results.json."""
    verdicts = {}
    for student in json.loads(results_json.read_text(encoding="utf-8")):
        for exercise in student["exercises"]:
            for check in exercise["checks"]:
                if check["test_id"] == "test_speed":
                    timing = check.get("timing") or {}
                    verdicts[(student["student"], exercise["id"])] = (
                        check["outcome"], timing.get("ratio"), check.get("message") or "")
    return verdicts


def expected_to_pass(student: str) -> bool:
    return student.split("-")[0] in FAST


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="nnlab grade --workers")
    parser.add_argument("--exercise", action="append", help="only these exercises (repeatable)")
    parser.add_argument("--keep", type=Path, help="keep the class folder and reports here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="nnlab-timing-batch-"))
    if args.keep:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    class_dir = work / "class"
    placed = build_class(class_dir, set(args.exercise) if args.exercise else None)
    students = sorted({s for s, _ in placed})
    print(f"{len(students)} students, {len(placed)} submissions, {args.runs} runs of "
          f"`nnlab grade --workers {args.workers}`", flush=True)

    seen: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    ratios: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    nnlab = shutil.which("nnlab") or "nnlab"
    for run in range(args.runs):
        out = work / f"run-{run}"
        started = time.monotonic()
        done = subprocess.run([nnlab, "grade", str(class_dir), "--out", str(out),
                               "--workers", str(args.workers)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"run {run}: nnlab grade exited {done.returncode}: {done.stderr.strip()[-500:]}")
            return 2
        messages: dict[tuple[str, str], str] = {}
        for key, (outcome, ratio, message) in speed_verdicts(out / "results.json").items():
            seen[key].append(outcome)
            messages[key] = message
            if ratio is not None:
                ratios[key].append(ratio)
        wrong = [k for k in placed if (seen[k][-1] == "passed") != expected_to_pass(k[0])]
        print(f"run {run + 1}: {time.monotonic() - started:.0f} s, "
              f"{len(wrong)} unexpected verdict(s) {wrong if wrong else ''}", flush=True)
        for key in wrong:  # why: the one thing worth reading when a verdict flips
            print(f"    {key[0]}/{key[1]}: {seen[key][-1]}: {messages.get(key, '')[:400]}")
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)

    header = f"{'exercise':<15} {'student':<18} {'expected':<8} {'verdicts':<26} {'flip':>5} {'ratio med':>9} {'min':>7} {'max':>7}"
    print()
    print(header)
    print("-" * len(header))
    unexpected = 0
    worst_flip = 0.0
    for student, exercise_id in sorted(placed, key=lambda k: (k[1], k[0])):
        verdicts = seen[(student, exercise_id)]
        counts = collections.Counter(verdicts)
        flip = 1 - counts.most_common(1)[0][1] / len(verdicts)
        worst_flip = max(worst_flip, flip)
        expect = "pass" if expected_to_pass(student) else "no pass"
        unexpected += sum((v == "passed") != expected_to_pass(student) for v in verdicts)
        r = sorted(ratios[(student, exercise_id)])
        stats = (f"{r[len(r) // 2]:9.2f} {r[0]:7.2f} {r[-1]:7.2f}" if r
                 else f"{'-':>9} {'-':>7} {'-':>7}")
        text = " ".join(f"{k}:{v}" for k, v in counts.most_common())
        print(f"{exercise_id:<15} {student:<18} {expect:<8} {text:<26} {flip:5.0%} {stats}")
    total = len(placed) * args.runs
    print(f"\nunexpected verdicts: {unexpected} of {total}; worst flip rate: {worst_flip:.0%}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if unexpected == 0 and worst_flip == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

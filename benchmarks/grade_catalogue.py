"""Prints seconds per student for a class holding all 24 solutions, by worker count and class size.

    python benchmarks/grade_catalogue.py [--sizes 2,4,8] [--workers 1,2]

Each run is one `nnlab grade` in a fresh OUT_DIR (nothing reused), with a fixed seed, as an
instructor would run it. Linear scaling shows as a flat seconds-per-student column.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "nnlab" / "solutions"


def _make_class(folder: Path, students: int) -> None:
    for index in range(students):
        student = folder / f"s{index:03d}"
        student.mkdir(parents=True)
        for solution in SOLUTIONS.glob("*.py"):
            if solution.name != "__init__.py":
                shutil.copy(solution, student / solution.name)


def _grade(class_dir: Path, out_dir: Path, workers: int) -> tuple[float, float, float]:
    """(wall seconds, mean score, max score) of one `nnlab grade` run."""
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "nnlab.cli", "grade", str(class_dir), "--out",
                          str(out_dir), "--workers", str(workers), "--seed", "1", "--no-similarity"],
                         capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"nnlab grade failed:\n{run.stderr[-2000:]}")
    results = json.loads((out_dir / "results.json").read_text())
    mean = sum(r["score"] for r in results) / len(results)
    return wall, mean, results[0]["max_score"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,4,8", help="class sizes (students)")
    parser.add_argument("--workers", default="1,2", help="local Dask worker counts")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    print(f"{'students':>8} {'workers':>7} {'wall s':>8} {'s/student':>9} {'s/sub-ex':>8}  mean score")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            class_dir = Path(tmp) / f"class{size}"
            _make_class(class_dir, size)
            for count in workers:
                wall, mean, top = _grade(class_dir, Path(tmp) / f"out{size}-{count}", count)
                print(f"{size:>8} {count:>7} {wall:>8.1f} {wall / size:>9.2f} "
                      f"{wall / size / 24:>8.3f}  {mean:g}/{top:g}", flush=True)


if __name__ == "__main__":
    main()

"""Seconds to render a 300 x 24 class report (HTML, charts, CSVs, JSON), and where the time goes."""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from nnlab.reports import write_class_report
from nnlab.reports.classview import Timings
from nnlab.reports.synthetic import synthetic_class


def render_once(students: int, out_dir: Path) -> tuple[float, Timings]:
    """Builds a synthetic class (not timed) and times write_class_report on it."""
    results = synthetic_class(students)
    ids = [e.id for e in results[0].exercises]
    timings = Timings()
    start = time.perf_counter()
    write_class_report(results, ids, out_dir, timings=timings)
    return time.perf_counter() - start, timings


def _sizes(out_dir: Path) -> str:
    students = sum(p.stat().st_size for p in (out_dir / "students").glob("*.html"))
    files = {name: (out_dir / name).stat().st_size for name in
             ("index.html", "scores.csv", "canvas.csv", "results.json")}
    listed = ", ".join(f"{name} {size / 1e6:.2f} MB" for name, size in files.items())
    return f"{listed}, students/*.html {students / 1e6:.1f} MB in all"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3, help="timed renders after the first (cold) one")
    args = parser.parse_args()
    start = time.perf_counter()
    synthetic_class(args.students)
    print(f"synthetic class of {args.students} x 24: {time.perf_counter() - start:.2f} s to build (not counted)")
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs + 1):
            out = Path(tmp) / f"run{run}"
            seconds, timings = render_once(args.students, out)
            label = "cold (first in the process: imports, font cache)" if run == 0 else f"warm run {run}"
            print(f"\n{label}: {seconds:.2f} s")
            for step, spent in sorted(timings.steps.items(), key=lambda kv: -kv[1]):
                print(f"  {step:<28} {spent:6.2f} s  {100 * spent / seconds:4.0f}%")
        print(f"\noutput: {_sizes(out)}")


if __name__ == "__main__":
    main()

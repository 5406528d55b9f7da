"""The safety net: every solution, stub and mutant graded at one fixed seed, to compare before/after a change.

    python benchmarks/safety_net.py --out before.json            # on the old code
    python benchmarks/safety_net.py --out after.json --compare before.json

A change to the grader (a speed lever, a rename, a typed record) must leave every score and every
check's outcome as it was. Timing checks measure this machine's load, so their differences are
listed apart: they are noise unless the same file differs again in a second run.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261123


def _files() -> list[tuple[str, Path]]:
    """(exercise id, file) for every solution, stub and mutant the suite knows."""
    from nnlab.grader.exercise import load_catalogue

    found: list[tuple[str, Path]] = []
    for exercise in load_catalogue():
        found.append((exercise.id, exercise.solution_path))
        found.append((exercise.id, exercise.stub_path))
        found += [(exercise.id, p) for p in sorted((ROOT / "tests" / "mutants" / exercise.id).glob("*.py"))]
    return found


def _name(exercise_id: str, path: Path) -> str:
    return f"{exercise_id}/{path.parent.name if path.parent.name != exercise_id else ''}{path.name}"


def grade_all(limit: int | None) -> dict[str, dict[str, object]]:
    from nnlab.grader.exercise import get_exercise
    from nnlab.grader.launcher import WorkerLauncher
    from nnlab.grader.pipeline import grade_file

    launcher = WorkerLauncher()
    graded: dict[str, dict[str, object]] = {}
    files = _files()[:limit]
    for number, (exercise_id, path) in enumerate(files, 1):
        exercise = get_exercise(exercise_id)
        result = grade_file(exercise, path.read_text(encoding="utf-8"), f"{exercise_id}.py",
                            launcher, seed=SEED, include_hidden=True).result
        graded[f"{exercise_id}/{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name}"] = {
            "score": result.score,
            "outcomes": {c.test_id: c.outcome.value for c in result.checks},
            "timing": sorted(c.test_id for c in result.checks if "timing" in c.test_id),
        }
        print(f"[{number}/{len(files)}] {exercise_id} {path.name}: {result.score:g}/{result.max_score:g}",
              file=sys.stderr, flush=True)
    return graded


def compare(before: dict[str, dict[str, object]], after: dict[str, dict[str, object]]) -> int:
    """Prints every difference; 1 when a score or a non-timing outcome differs."""
    real, noise = [], []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            real.append(f"{name}: only in {'after' if old is None else 'before'}")
            continue
        timing = set(old["timing"]) | set(new["timing"])  # type: ignore[arg-type]
        old_out, new_out = old["outcomes"], new["outcomes"]
        assert isinstance(old_out, dict) and isinstance(new_out, dict)
        for check in sorted(set(old_out) | set(new_out)):
            if old_out.get(check) != new_out.get(check):
                line = f"{name}: {check}: {old_out.get(check)} -> {new_out.get(check)}"
                (noise if check in timing else real).append(line)
        if old["score"] != new["score"] and not any(name in line for line in noise):
            real.append(f"{name}: score {old['score']} -> {new['score']}")
    for line in real:
        print("DIFFERS  " + line)
    for line in noise:
        print("timing   " + line)
    print(f"{len(before)} files before, {len(after)} after: {len(real)} differences, "
          f"{len(noise)} timing-only differences (load noise unless repeated)")
    return 1 if real else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write this run's scores (JSON)")
    parser.add_argument("--compare", type=Path, help="a previous run's JSON to compare with")
    parser.add_argument("--limit", type=int, help="grade only the first N files (a quick look)")
    args = parser.parse_args()
    start = time.perf_counter()
    graded = grade_all(args.limit)
    args.out.write_text(json.dumps(graded, indent=1, sort_keys=True), encoding="utf-8")
    print(f"{len(graded)} files graded in {time.perf_counter() - start:.0f} s -> {args.out}")
    if args.compare:
        return compare(json.loads(args.compare.read_text(encoding="utf-8")), graded)
    return 0


if __name__ == "__main__":
    sys.exit(main())

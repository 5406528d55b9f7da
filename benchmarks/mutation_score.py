"""Mutation score of every built-in exercise: `verify --mutate`'s mutants graded on 2 local Dask workers.

    python benchmarks/mutation_score.py [--workers 2] [--survivors FILE] [ID ...]

Prints each exercise's line as soon as its last mutant is graded (generated, killed, equivalent,
survivors, score = killed / (generated - equivalent)), then the totals and the wall time. Each
survivor (exercise, id, operator, function, diff) is appended to --survivors as soon as it is
graded, so a long run can be worked on while it goes.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ["NNLAB_COURSE"] = ""  # the built-ins only, wherever this runs from

from nnlab.commands.mutate import summary_line
from nnlab.engine import Graded, GradingEngine
from nnlab.grader.exercise import get_exercise, load_catalogue
from nnlab.grader.pipeline import new_seed
from nnlab.mutation.generate import Mutant
from nnlab.mutation.run import MutationPlan, grade_mutations, plan_mutations


def _survivor_record(exercise_id: str, mutant: Mutant) -> str:
    return (f"=== {exercise_id} {mutant.id} {mutant.operator} {mutant.where} line {mutant.line}\n"
            f"{mutant.diff}\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ids", nargs="*", help="exercise ids (default: the whole built-in catalogue)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--survivors", type=Path, default=None, help="file for every survivor's diff")
    args = parser.parse_args()
    exercises = [get_exercise(i) for i in args.ids] if args.ids else list(load_catalogue())
    started = time.monotonic()
    seed = new_seed()
    plans: list[MutationPlan] = [plan_mutations(e) for e in exercises]
    mutants = {f"{p.exercise.id}/{m.id}": (p.exercise.id, m) for p in plans for m in p.to_grade}
    left = {p.exercise.id: len(p.to_grade) for p in plans}
    print(f"{len(mutants)} mutants of {len(plans)} exercises on {args.workers} local Dask workers, "
          f"seed {seed}", flush=True)
    if args.survivors is not None:
        args.survivors.write_text(f"# survivors of benchmarks/mutation_score.py, seed {seed}\n")

    def graded(done: Graded) -> None:
        exercise_id, mutant = mutants[done.job.student]
        result = done.result.exercises[0]
        if args.survivors is not None and not done.infrastructure_error \
                and result.score >= result.max_score:
            with open(args.survivors, "a", encoding="utf-8") as out:
                out.write(_survivor_record(exercise_id, mutant))
        left[exercise_id] -= 1
        if not left[exercise_id]:
            print(f"  {exercise_id} graded ({time.monotonic() - started:.0f} s)", flush=True)

    with GradingEngine(args.workers) as engine:
        outcomes = grade_mutations(plans, seed, engine, graded)
    print()
    for o in outcomes:
        print(summary_line(o.exercise_id, o.generated, len(o.killed), len(o.equivalent), len(o.survivors))
              + (f"  ungraded {len(o.ungraded)}" if o.ungraded else "")
              + (f"  stale {len(o.stale)}" if o.stale else ""))
    print(summary_line("total", sum(o.generated for o in outcomes), sum(len(o.killed) for o in outcomes),
                       sum(len(o.equivalent) for o in outcomes), sum(len(o.survivors) for o in outcomes)))
    print(f"wall time {time.monotonic() - started:.0f} s on {args.workers} workers (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

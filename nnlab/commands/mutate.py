"""`nnlab verify --mutate`: grades generated mutants of each solution and lists the survivors."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from nnlab.mutation.equivalents import equivalent_path, marking_hint
from nnlab.mutation.run import ExerciseMutation, MutationPlan, grade_mutations, plan_mutations

if TYPE_CHECKING:
    from nnlab.grader.exercise import Exercise
    from nnlab.mutation.generate import Mutant


def _indented(text: str, prefix: str = "      ") -> str:
    return "".join(prefix + line for line in text.splitlines(keepends=True)).rstrip("\n")


def _survivor(outcome: ExerciseMutation, mutant: Mutant) -> None:
    click.echo(f"  survivor {mutant.id} ({mutant.operator}, {mutant.where}, line {mutant.line}): "
               "full marks")
    click.echo(_indented(mutant.diff))
    click.echo(_indented(marking_hint(outcome.folder, mutant.id)))


def summary_line(label: str, generated: int, killed: int, equivalent: int, survivors: int) -> str:
    counted = generated - equivalent
    score = f"{100 * killed / counted:.1f}%" if counted else "-"
    return (f"{label:<22} generated {generated:>4}  killed {killed:>4}  equivalent {equivalent:>3}  "
            f"survivors {survivors:>3}  score {score}")


def print_outcome(outcome: ExerciseMutation) -> None:
    """The exercise's counts, then each survivor with its diff and how to mark it."""
    click.echo(summary_line(outcome.exercise_id, outcome.generated, len(outcome.killed),
                            len(outcome.equivalent), len(outcome.survivors)))
    for mutant in outcome.survivors:
        _survivor(outcome, mutant)
    for mutant, why in outcome.ungraded:
        click.echo(f"  not graded {mutant.id} ({mutant.operator}, line {mutant.line}): {why}")
    for ident in outcome.stale:
        click.echo(f"  stale: {ident} in {equivalent_path(outcome.folder)} matches no generated "
                   "mutant any more (the solution, or nnlab's operators, changed): remove it")


def mutate(exercises: list[Exercise], seed: int, workers: int | None,
           scheduler: str | None) -> list[ExerciseMutation]:
    """Plans, grades and prints the mutants of the exercises; returns the outcomes."""
    from nnlab.engine import Graded, GradingEngine
    from nnlab.engine.progress import Progress

    started = time.monotonic()
    plans: list[MutationPlan] = [plan_mutations(exercise) for exercise in exercises]
    total = sum(len(p.to_grade) for p in plans)
    with GradingEngine(min(workers or 0, total) or None, scheduler,
                       tuple(e.id for e in exercises)) as engine:
        where = (f"{min(engine.workers, total)} local Dask worker(s)" if engine.address is None
                 else f"the Dask cluster at {engine.address}")
        click.echo(f"Mutation testing: {total} mutant(s) of {len(plans)} solution(s) to grade on "
                   f"{where}, seed {seed}", err=True)
        with Progress(total) as progress:
            def graded(done: Graded) -> None:
                result = done.result.exercises[0]
                progress.student(done.job.student, result.score, result.max_score,
                                 done.infrastructure_error)

            outcomes = grade_mutations(plans, seed, engine, graded)
    for outcome in outcomes:
        print_outcome(outcome)
    click.echo(summary_line("total", sum(o.generated for o in outcomes),
                            sum(len(o.killed) for o in outcomes),
                            sum(len(o.equivalent) for o in outcomes),
                            sum(len(o.survivors) for o in outcomes))
               + f"  ({time.monotonic() - started:.0f} s)")
    return outcomes


def failed(outcomes: list[ExerciseMutation]) -> bool:
    """Whether a mutant survived unmarked, or could not be graded."""
    return any(o.survivors or o.ungraded for o in outcomes)

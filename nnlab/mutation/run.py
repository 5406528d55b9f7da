"""Grades every mutant of the exercises' solutions on the Dask engine and sorts killed from survivors."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from nnlab.mutation.equivalents import read_equivalents
from nnlab.mutation.generate import Mutant, generate_mutants

if TYPE_CHECKING:
    from nnlab.engine import Graded, GradingEngine, StudentJob
    from nnlab.grader.exercise import Exercise


@dataclass(frozen=True)
class ExerciseMutation:
    """What the mutants of one exercise's solution did against its checks."""

    exercise_id: str
    folder: Path
    """The exercise's folder (where mutants/equivalent.toml lives)."""
    generated: int
    killed: tuple[str, ...]
    """Ids of the mutants that lost at least one point."""
    equivalent: tuple[str, ...]
    """Ids marked in mutants/equivalent.toml (not graded)."""
    survivors: tuple[Mutant, ...]
    """Unmarked mutants with full marks: each a hole in the checks, or an equivalent to mark."""
    stale: tuple[str, ...] = ()
    """Ids in mutants/equivalent.toml that no generated mutant has any more."""
    ungraded: tuple[tuple[Mutant, str], ...] = ()
    """Mutants no worker could grade (infrastructure errors), with why."""

    @property
    def score(self) -> float:
        """killed / (generated - equivalent); 1.0 when nothing is left to kill."""
        counted = self.generated - len(self.equivalent)
        return len(self.killed) / counted if counted else 1.0


@dataclass(frozen=True)
class MutationPlan:
    """One exercise's mutants, and which of them its author marked as equivalent."""

    exercise: Exercise
    mutants: tuple[Mutant, ...]
    marked: frozenset[str]
    """Ids of generated mutants marked in mutants/equivalent.toml."""
    stale: tuple[str, ...]
    """Ids marked there that match no generated mutant."""

    @property
    def to_grade(self) -> tuple[Mutant, ...]:
        return tuple(m for m in self.mutants if m.id not in self.marked)


def plan_mutations(exercise: Exercise) -> MutationPlan:
    """Generates the mutants of the exercise's solution (its stub's given code left alone)."""
    solution = exercise.solution_path.read_text(encoding="utf-8")
    stub = exercise.stub_path.read_text(encoding="utf-8") if exercise.stub_path.is_file() else None
    mutants = generate_mutants(solution, stub, exercise.solution_path.name)
    marks = read_equivalents(exercise.folder)
    ids = {m.id for m in mutants}
    return MutationPlan(exercise, mutants, frozenset(marks) & ids, tuple(sorted(set(marks) - ids)))


def _job(exercise: Exercise, mutant: Mutant, seed: int) -> StudentJob:
    """The mutant as one student's submission of the exercise, its checks stopped at its first
    lost point: a killed mutant needs no more of them."""
    from nnlab.engine import StudentJob
    from nnlab.engine.files import StudentFile

    data = mutant.source.encode("utf-8")
    return StudentJob(Path(f"mutant-{mutant.id}"), f"{exercise.id}/{mutant.id}", (exercise.id,), seed,
                      include_hidden=True,
                      files=(StudentFile(f"{exercise.id}.py", "file", data, len(data)),),
                      stop_at_first_loss=True)


def _sorted_out(plan: MutationPlan, graded: dict[str, Graded]) -> ExerciseMutation:
    killed: list[str] = []
    survivors: list[Mutant] = []
    ungraded: list[tuple[Mutant, str]] = []
    for mutant in plan.mutants:
        if mutant.id in plan.marked:
            continue
        done = graded[f"{plan.exercise.id}/{mutant.id}"]
        result = done.result.exercises[0]
        if done.infrastructure_error:
            ungraded.append((mutant, done.infrastructure_error))
        elif result.score < result.max_score:
            killed.append(mutant.id)
        else:
            survivors.append(mutant)
    return ExerciseMutation(plan.exercise.id, plan.exercise.folder, len(plan.mutants), tuple(killed),
                            tuple(sorted(plan.marked)), tuple(survivors), plan.stale, tuple(ungraded))


def grade_mutations(plans: list[MutationPlan], seed: int, engine: GradingEngine,
                    on_graded: Callable[[Graded], None] | None = None) -> list[ExerciseMutation]:
    """Grades every unmarked mutant (hidden and timing checks included) on the engine."""
    jobs = [_job(p.exercise, m, seed) for p in plans for m in p.to_grade]
    graded: dict[str, Graded] = {}

    def finished(done: Graded) -> None:
        graded[done.job.student] = done
        if on_graded is not None:
            on_graded(done)

    if jobs:
        engine.grade_many(jobs, finished)
    return [_sorted_out(plan, graded) for plan in plans]

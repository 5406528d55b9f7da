"""`nnlab verify`: every solution scores full marks and every stub zero, without crashing."""
from __future__ import annotations

import click

from nnlab.commands.authoring import authoring_notes, mutant_issues
from nnlab.commands.session_setup import grading_launcher
from nnlab.grader.exercise import Exercise, get_exercise, load_catalogue
from nnlab.grader.pipeline import grade_file, new_seed
from nnlab.results import Outcome


def verify_exercises(exercise_ids: tuple[str, ...], mutate: bool = False, workers: int | None = None,
                     scheduler: str | None = None) -> int:
    """0 when every exercise verifies (and, with `mutate`, no generated mutant survives unmarked)."""
    exercises = [get_exercise(i) for i in exercise_ids] if exercise_ids else list(load_catalogue())
    problems = 0
    sound: list[Exercise] = []
    seed = new_seed()
    with grading_launcher() as launcher:
        for exercise in exercises:
            solution = grade_file(exercise, exercise.solution_path.read_text(encoding="utf-8"),
                                  f"{exercise.id}.py", launcher, seed, include_hidden=True).result
            graded_stub = grade_file(exercise, exercise.stub_path.read_text(encoding="utf-8"),
                                     f"{exercise.id}.py", launcher, seed, include_hidden=True)
            stub = graded_stub.result
            issues = [f"solution: {c.name}: {c.outcome.value}: {c.message}"
                      for c in solution.checks if c.outcome is not Outcome.PASSED]
            if stub.score != 0:
                issues.append(f"stub scores {stub.score:g}, expected 0")
            # A stub fails every check, but through its own code: a check that broke on the
            # way (the grader's or the check's own bug) would fail any submission.
            issues += [f"stub: {c.name}: {c.message}" for c in stub.checks
                       if c.test_id in graded_stub.internal_errors]
            issues += authoring_notes(exercise)  # a course's exercise: what its author has left
            issues += mutant_issues(exercise, launcher, seed)
            status = click.style("ok", fg="green") if not issues else click.style("FAIL", fg="red")
            click.echo(f"{exercise.id:<22} solution {solution.score:g}/{solution.max_score:g}  "
                       f"stub {stub.score:g}  {status}", err=False)
            for issue in issues:
                click.echo(f"    {issue.splitlines()[0]}")
            problems += bool(issues)
            sound += [] if issues else [exercise]
    click.echo(f"{len(exercises) - problems} of {len(exercises)} exercises verified (seed {seed}).")
    if mutate:
        from nnlab.commands import mutate as mutation

        # Only the exercises that verified: against a solution short of full marks, every
        # mutant would count as killed.
        skipped = [e.id for e in exercises if e not in sound]
        if skipped:
            click.echo(f"Not mutated (fix them first): {', '.join(skipped)}")
        problems += mutation.failed(mutation.mutate(sound, seed, workers, scheduler)) if sound else 0
    return 1 if problems else 0

"""A realistic synthetic class (correct, buggy, broken and missing work) built without running the grader."""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from nnlab.grader.exercise import CheckSpec, Exercise, load_catalogue
from nnlab.results import (
    CheckResult,
    Confinement,
    ExerciseResult,
    Outcome,
    SubmissionResult,
    TimingInfo,
    Visibility,
)

SYNTHETIC_DEVICE = "cpu (torch 2.13.0, 2 threads)"
_CONFINEMENT = Confinement("full", ("landlock-abi7", "netns", "rlimits", "no_new_privs"))
_FAILURE_MESSAGES = (
    "max abs error 0.41 at index (2, 3); expected 0.12, got 0.53 (input family: odd sizes)",
    "expected shape (5, 3), got (3, 5)",
    "expected dtype torch.float64, got torch.float32",
    "gradcheck failed: grad_input differs by 0.25 at index (0, 1)",
    "the input tensor was changed in place",
    "output contains NaN for inputs of magnitude 1e4",
)
_ERROR_MESSAGES = (
    "RuntimeError: mat1 and mat2 shapes cannot be multiplied (5x4 and 3x4)",
    "the worker crashed (exit code 3) while running forward",
    "AttributeError: 'MyLinear' object has no attribute 'weight'",
)
_BROKEN_FILE_NOTES = (
    ("{id}.py does not parse: invalid syntax at line 14", Outcome.ERROR),
    ("{id}.py is empty", Outcome.ERROR),
    ("banned API in {id}.py: torch.nn.functional.linear at line 9", Outcome.FAILED),
)


@dataclass(frozen=True)
class ClassShape:
    """How the synthetic class behaves; the defaults mimic the demo class scaled up."""

    missing_rate: float = 0.08
    """Roughly the share of (student, exercise) files never handed in."""
    broken_rate: float = 0.03
    """Share of handed-in files that cannot run at all (syntax error, empty, banned API)."""
    flawed_check: bool = True
    """Plant one check that strong students fail more often than weak ones (a suspect check)."""


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _check(spec: CheckSpec, outcome: Outcome, message: str, rng: random.Random) -> CheckResult:
    """One check result; a timing check that was decided carries its measurement."""
    timing = None
    if spec.is_timing and outcome in (Outcome.PASSED, Outcome.FAILED):
        ratio = rng.uniform(0.8, 2.2) if outcome is Outcome.PASSED else rng.uniform(3.0, 40.0)
        timing = TimingInfo(SYNTHETIC_DEVICE, round(ratio, 2), 2.5, round(rng.uniform(0.02, 0.2), 3),
                            ratio * 1e-4, 1e-4, 15)
    return CheckResult(
        name=spec.name, test_id=spec.test_id,
        score=spec.points if outcome is Outcome.PASSED else 0.0, max_score=spec.points,
        outcome=outcome, visibility=spec.visibility, message=message,
        duration_s=round(rng.uniform(0.01, 0.4), 3), timing=timing,
    )


def _whole_file(exercise: Exercise, outcome: Outcome, note: str, submitted: bool) -> ExerciseResult:
    """Every check with one verdict, as the grader records a file that cannot run."""
    checks = tuple(
        CheckResult(c.name, c.test_id, 0.0, c.points, outcome, c.visibility, note)
        for c in exercise.checks
    )
    return ExerciseResult(exercise.id, exercise.title, checks, exercise.points, note, submitted)


def _graded(exercise: Exercise, ability: float, difficulty: dict[str, float], flawed: str,
            rng: random.Random) -> ExerciseResult:
    """An exercise whose file ran: each check passes with a probability set by ability and difficulty."""
    checks = []
    for spec in exercise.checks:
        key = f"{exercise.id}::{spec.test_id}"
        # An item-response model: strong students pass hard checks more often than weak ones,
        # except for the planted flawed check, where the relation is reversed.
        slope = -1.2 if key == flawed else 1.7
        p_pass = _sigmoid(slope * (ability - difficulty[key]) + 1.2)
        if rng.random() < p_pass:
            noisy = spec.is_timing and rng.random() < 0.06
            outcome = Outcome.SKIPPED if noisy else Outcome.PASSED
            message = "timing too noisy to decide (spread 41%); run again" if noisy else ""
        else:
            roll = rng.random()
            if roll < 0.8:
                outcome, message = Outcome.FAILED, rng.choice(_FAILURE_MESSAGES)
            elif roll < 0.95:
                outcome, message = Outcome.ERROR, rng.choice(_ERROR_MESSAGES)
            else:
                outcome, message = Outcome.TIMEOUT, "no answer within 10 s (check wall-time limit)"
        checks.append(_check(spec, outcome, message, rng))
    return ExerciseResult(exercise.id, exercise.title, tuple(checks), exercise.points)


def _difficulties(catalogue: Sequence[Exercise], rng: random.Random) -> dict[str, float]:
    """A difficulty per check: each exercise has its own level, public checks are easier."""
    levels: dict[str, float] = {}
    for exercise in catalogue:
        base = rng.gauss(0.0, 0.6)
        for spec in exercise.checks:
            easier = 1.0 if spec.visibility is Visibility.VISIBLE else 0.0
            levels[f"{exercise.id}::{spec.test_id}"] = rng.gauss(base, 0.8) - easier
    return levels


def synthetic_class(n_students: int = 300, exercise_ids: Sequence[str] | None = None, *,
                    seed: int = 0, shape: ClassShape = ClassShape()) -> list[SubmissionResult]:
    """`n_students` graded submissions over the catalogue's exercises (all of them by default).

    Deterministic for a given seed. Check names, points and visibility come from the real
    catalogue, so reports built from these results look like a real class's.
    """
    catalogue = load_catalogue()
    if exercise_ids is not None:
        wanted = set(exercise_ids)
        catalogue = tuple(e for e in catalogue if e.id in wanted)
    rng = random.Random(seed)
    difficulty = _difficulties(catalogue, rng)
    keys = sorted(difficulty)
    flawed = rng.choice(keys) if shape.flawed_check and keys else ""
    # A missing-rate logit so that an average student misses about `missing_rate` of the files.
    missing_logit = math.log(shape.missing_rate / (1.0 - shape.missing_rate))
    results = []
    for i in range(n_students):
        ability = rng.gauss(0.3, 1.0)
        exercises = []
        for position, exercise in enumerate(catalogue):
            # Weak students and late exercises are missed more often, as in a real course.
            late = 1.2 * (position / max(len(catalogue) - 1, 1) - 0.5)
            if rng.random() < _sigmoid(missing_logit - 0.8 * ability + late):
                exercises.append(_whole_file(exercise, Outcome.SKIPPED,
                                             f"{exercise.id}.py was not submitted", submitted=False))
            elif rng.random() < shape.broken_rate:
                note, outcome = rng.choice(_BROKEN_FILE_NOTES)
                exercises.append(_whole_file(exercise, outcome, note.format(id=exercise.id), True))
            else:
                exercises.append(_graded(exercise, ability, difficulty, flawed, rng))
        results.append(SubmissionResult(
            student=f"s{i + 1:03d}", exercises=tuple(exercises), seed=20250101,
            confinement=_CONFINEMENT, device=SYNTHETIC_DEVICE, nnlab_version="0.1.0",
            graded_at="2025-01-02T03:04:05+00:00",
        ))
    return results


def flawed_check_key(seed: int = 0, exercise_ids: Sequence[str] | None = None) -> tuple[str, str]:
    """(exercise id, test id) of the check that `synthetic_class(seed=seed)` plants as flawed."""
    catalogue = load_catalogue()
    if exercise_ids is not None:
        catalogue = tuple(e for e in catalogue if e.id in set(exercise_ids))
    rng = random.Random(seed)
    # The same draws as synthetic_class: the difficulties, then the flawed check.
    exercise_id, test_id = rng.choice(sorted(_difficulties(catalogue, rng))).split("::")
    return exercise_id, test_id

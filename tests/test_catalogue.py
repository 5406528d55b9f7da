"""The catalogue itself: every exercise loads, its solution scores full, its stub zero."""
from __future__ import annotations

import pytest

from nnlab.grader.exercise import load_catalogue
from nnlab.grader.pipeline import grade_file
from nnlab.results import Outcome

CATALOGUE = load_catalogue()
# Every exercise graded twice: the full suite's, not the fast subset's.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("exercise", CATALOGUE, ids=lambda e: e.id)
def test_solution_scores_full_marks(exercise, launcher) -> None:
    """Does the reference solution pass every check, public and hidden?"""
    result = grade_file(exercise, exercise.solution_path.read_text(encoding="utf-8"),
                        f"{exercise.id}.py", launcher, seed=7, include_hidden=True).result
    failures = [f"{c.test_id}: {c.outcome.value}: {c.message}" for c in result.checks
                if c.outcome is not Outcome.PASSED]
    assert not failures, "\n".join(failures)
    assert result.score == exercise.points


@pytest.mark.parametrize("exercise", CATALOGUE, ids=lambda e: e.id)
def test_stub_scores_zero_without_crashing_the_grader(exercise, launcher) -> None:
    """Does the untouched stub score zero, every check an error or failure of its own?"""
    graded = grade_file(exercise, exercise.stub_path.read_text(encoding="utf-8"),
                        f"{exercise.id}.py", launcher, seed=7, include_hidden=True)
    assert graded.result.score == 0
    for check in graded.result.checks:
        assert check.outcome in (Outcome.ERROR, Outcome.FAILED), check
    assert graded.internal_errors == (), [c.message for c in graded.result.checks]

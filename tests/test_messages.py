"""What checks and commands say when something fails: the real reason, counts that agree, plurals."""
from __future__ import annotations

from pathlib import Path

import pytest

from nnlab.grader.exercise import get_exercise
from nnlab.grader.pipeline import grade_exercise

MUTANTS = Path(__file__).parent / "mutants"


@pytest.mark.slow
def test_a_wrong_backward_without_autograd_is_not_blamed_on_autograd(launcher) -> None:
    """Does the 'written by hand, without autograd' check, failing a backward that calls no
    autograd but gets the gradient wrong, say so instead of only quoting the gradient's values?"""
    exercise = get_exercise("custom_sigmoid")
    source = (MUTANTS / "custom_sigmoid" / "tanh_derivative.py").read_text(encoding="utf-8")
    result, _ = grade_exercise(exercise, source, "custom_sigmoid.py", launcher, seed=7, include_hidden=True)
    [check] = [c for c in result.checks if c.test_id == "test_backward_by_hand"]
    assert check.outcome.value == "failed"
    assert check.message.startswith("backward calls no autograd, but "), check.message
    assert "gradient" in check.message

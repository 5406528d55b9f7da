"""Public checks for higher_order_grad: x**3, and the shape of the answer."""
from __future__ import annotations

from typing import Any

import torch

from nnlab.grader.checks import (CheckFailed, StudentCodeError, assert_close, assert_tensor,
                                 evaluate, randn)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

# fn(x) = <formula>, built in the worker: the formula is the check's data (torch ops on x).
FUNCTION = "eval('lambda x: ' + formula)"


def _derivatives(sub: Any, expression: str, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Calls the student's derivatives with the grader's fn, built in the worker."""
    fn = evaluate(sub, FUNCTION, label=f"fn(x) = {expression}", formula=expression)
    try:
        result = sub.derivatives(fn, x)
    except StudentCodeError as error:
        detail = str(error).split(": ", 1)[-1]
        raise StudentCodeError(f"running derivatives(fn, x) for fn(x) = {expression}: {detail}") from None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"derivatives(fn, x) for fn(x) = {expression}: expected the pair "
                          f"(dy_dx, d2y_dx2), got {type(result).__name__}")
    for value, name in zip(result, ("dy_dx", "d2y_dx2")):
        assert_tensor(value, f"{name} for fn(x) = {expression}", shape=x.shape, dtype=x.dtype)
    return result[0], result[1]


def test_cubic(sub):
    """For fn(x) = x**3, is dy_dx = 3x**2 and d2y_dx2 = 6x?"""
    x = randn(7, dtype=torch.float64, scale=1.5)
    d1, d2 = _derivatives(sub, "x ** 3", x)
    assert_close(d1, 3 * x ** 2, "dy_dx for fn(x) = x**3", family="7 normal points")
    assert_close(d2, 6 * x, "d2y_dx2 for fn(x) = x**3", family="7 normal points")


def test_pair_shapes(sub):
    """Does derivatives return a pair of tensors shaped and typed like x (float32 and float64)?"""
    for dtype in (torch.float32, torch.float64):
        x = randn(5, dtype=dtype)
        d1, d2 = _derivatives(sub, "torch.sin(x)", x)
        assert_close(d1, torch.cos(x.double()).to(dtype), "dy_dx for fn(x) = sin(x)", family=str(dtype))
        assert_close(d2, (-torch.sin(x.double())).to(dtype), "d2y_dx2 for fn(x) = sin(x)", family=str(dtype))

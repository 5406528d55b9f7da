"""Hidden checks for higher_order_grad: polynomials, transcendental functions, a linear function,
sizes and dtypes, and repeated calls on the same tensor; references are the analytic derivatives."""
from __future__ import annotations

from typing import Any, Callable

import torch

from nnlab.grader.checks import (CheckFailed, RequiresGrad, StudentCodeError, assert_close,
                                 assert_detached, assert_tensor, audited_call, evaluate, noncontig,
                                 randn)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

Analytic = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]

# fn(x) = <formula>, built in the worker: the formula is the check's data (torch ops on x).
FUNCTION = "eval('lambda x: ' + formula)"
# The student's derivatives called twice on the same x, with such an fn.
TWICE = ("(lambda fn, x: (submission.derivatives(fn, x), submission.derivatives(fn, x)))"
         "(eval('lambda x: ' + formula), x)")

# fn as the worker evaluates it -> its first and second derivatives, computed here in float64.
POLYNOMIALS: dict[str, Analytic] = {
    "x ** 2": lambda x: (2 * x, torch.full_like(x, 2.0)),
    "x ** 4 - 2 * x ** 2 + x": lambda x: (4 * x ** 3 - 4 * x + 1, 12 * x ** 2 - 4),
    "0.5 * x ** 5 - x ** 3": lambda x: (2.5 * x ** 4 - 3 * x ** 2, 10 * x ** 3 - 6 * x),
}
TRANSCENDENTAL: dict[str, Analytic] = {
    "torch.sin(x) * x ** 3": lambda x: (torch.cos(x) * x ** 3 + 3 * x ** 2 * torch.sin(x),
                                        -x ** 3 * torch.sin(x) + 6 * x ** 2 * torch.cos(x)
                                        + 6 * x * torch.sin(x)),
    "torch.sin(x) * torch.exp(x)": lambda x: (torch.exp(x) * (torch.sin(x) + torch.cos(x)),
                                              2 * torch.exp(x) * torch.cos(x)),
    "torch.log(1 + x ** 2)": lambda x: (2 * x / (1 + x ** 2), (2 - 2 * x ** 2) / (1 + x ** 2) ** 2),
    "torch.exp(-x ** 2 / 2)": lambda x: (-x * torch.exp(-x ** 2 / 2), (x ** 2 - 1) * torch.exp(-x ** 2 / 2)),
}


def _sigmoid_pair(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    s = torch.sigmoid(x)
    return s * (1 - s), s * (1 - s) * (1 - 2 * s)


SMOOTH_ACTIVATIONS: dict[str, Analytic] = {
    "torch.tanh(x)": lambda x: (1 - torch.tanh(x) ** 2, -2 * torch.tanh(x) * (1 - torch.tanh(x) ** 2)),
    "torch.sigmoid(x)": _sigmoid_pair,
    "F.softplus(x)": lambda x: (torch.sigmoid(x), torch.sigmoid(x) * (1 - torch.sigmoid(x))),
}


def _fn(sub: Any, expression: str) -> Any:
    """The grader's test function, built in the worker (it only calls torch)."""
    return evaluate(sub, FUNCTION, label=f"fn(x) = {expression}", formula=expression)


def _call(sub: Any, expression: str, fn: Any, x: Any, shape: tuple[int, ...],
          dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    what = f"derivatives(fn, x) for fn(x) = {expression}"
    try:
        result = sub.derivatives(fn, x)
    except StudentCodeError as error:
        detail = str(error).split(": ", 1)[-1]
        raise StudentCodeError(f"running {what}: {detail}") from None
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{what}: expected the pair (dy_dx, d2y_dx2), got {type(result).__name__}")
    for value, name in zip(result, ("dy_dx", "d2y_dx2")):
        assert_tensor(value, f"{name} for fn(x) = {expression}", shape=shape, dtype=dtype)
    return result[0], result[1]


def _pair(result: Any, what: str, shape: tuple[int, ...], dtype: torch.dtype) -> tuple[Any, Any]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{what}: expected the pair (dy_dx, d2y_dx2), got {type(result).__name__}")
    for value, name in zip(result, ("dy_dx", "d2y_dx2")):
        assert_tensor(value, f"{name} ({what})", shape=shape, dtype=dtype)
    return result[0], result[1]


def _check(sub: Any, expression: str, analytic: Analytic, x: torch.Tensor, family: str,
           send: Any = None) -> None:
    d1, d2 = _call(sub, expression, _fn(sub, expression), x if send is None else send,
                   tuple(x.shape), x.dtype)
    e1, e2 = analytic(x.double())
    for got, expected, name in ((d1, e1, "dy_dx"), (d2, e2, "d2y_dx2")):
        atol = None
        if x.dtype != torch.float64:
            # float32 rounding is relative to the size of the terms, not only of the result.
            atol = 1e-5 * max(1.0, float(expected.abs().max()) if expected.numel() else 1.0)
        assert_close(got, expected.to(x.dtype), f"{name} for fn(x) = {expression}", family=family, atol=atol)


def test_polynomials(sub):
    """Are both derivatives right for polynomials (x**2, x**4 - 2x**2 + x, x**5/2 - x**3)?"""
    for expression, analytic in POLYNOMIALS.items():
        _check(sub, expression, analytic, randn(9, dtype=torch.float64, scale=1.5), "9 normal points")
        _check(sub, expression, analytic, randn(6, scale=1.5), "float32")


def test_transcendental(sub):
    """Are both derivatives right for sin(x)*x**3, sin(x)*exp(x), log(1+x**2), exp(-x**2/2)?"""
    for expression, analytic in TRANSCENDENTAL.items():
        x = (torch.rand(11, dtype=torch.float64) * 6 - 3)
        _check(sub, expression, analytic, x, "11 points in [-3, 3]")
        _check(sub, expression, analytic, randn(4), "float32")


def test_tanh_sigmoid_softplus(sub):
    """Are both derivatives right for tanh, sigmoid and softplus, small and large x alike?"""
    for expression, analytic in SMOOTH_ACTIVATIONS.items():
        x = torch.cat([randn(6, dtype=torch.float64, scale=2.0),
                       torch.tensor([-30.0, -8.0, 0.0, 8.0, 30.0], dtype=torch.float64)])
        _check(sub, expression, analytic, x, "normal points and |x| up to 30")


def test_linear_function(sub):
    """For linear fns (3x + 1, x/4 - 2, w * x with a learnable w), is d2y_dx2 zero, without an error?"""
    # The first derivative of a linear function is a constant with no graph behind it:
    # differentiating it again must give 0, not raise.
    for expression, slope in (("3 * x + 1", 3.0), ("x / 4 - 2", 0.25)):
        x = randn(5, dtype=torch.float64)
        _check(sub, expression, lambda t, s=slope: (torch.full_like(t, s), torch.zeros_like(t)), x,
               "a linear function")
    # With a slope that requires grad, dy_dx = w has a graph (through w) that never reaches x:
    # the second derivative is still 0 (allow_unused=True, or a check), not an error.
    for expression, slope in (("torch.tensor(1.5, requires_grad=True) * x", 1.5),
                              ("torch.tensor(-0.5, requires_grad=True) * x + torch.tensor(2.0, requires_grad=True)",
                               -0.5)):
        for x, family in ((randn(5, dtype=torch.float64), "float64"), (randn(4), "float32")):
            _check(sub, expression, lambda t, s=slope: (torch.full_like(t, s), torch.zeros_like(t)), x,
                   f"a linear fn with a learnable slope, {family}")



def test_sizes_dtypes_noncontiguous(sub):
    """Do one element, 1000 elements, float32 and non-contiguous x all work, x left unchanged?"""
    expression = "torch.sin(x) * x ** 3"
    analytic = TRANSCENDENTAL[expression]
    _check(sub, expression, analytic, randn(1, dtype=torch.float64), "a single element")
    _check(sub, expression, analytic, randn(1000, dtype=torch.float64, scale=1.5), "1000 elements")
    _check(sub, expression, analytic, randn(8, scale=1.5), "float32")
    x = randn(7, dtype=torch.float64, scale=1.5)
    _check(sub, expression, analytic, x, "non-contiguous x", send=noncontig(x))
    audited_call(sub.derivatives, (_fn(sub, expression), x), names=("fn", "x"))


def test_repeated_calls(sub):
    """Called twice on the same tensor, is the second answer still right (no stale .grad)?"""
    # A solution built on .backward() accumulates into x.grad; a second call on the same tensor
    # then adds the first call's gradients.
    for expression, analytic in (("torch.sin(x) * x ** 3", TRANSCENDENTAL["torch.sin(x) * x ** 3"]),
                                 ("x ** 4 - 2 * x ** 2 + x", POLYNOMIALS["x ** 4 - 2 * x ** 2 + x"])):
        x = randn(6, dtype=torch.float64, scale=1.5)
        try:
            result = evaluate(sub, TWICE, label=f"derivatives twice on the same x, fn(x) = {expression}",
                              formula=expression, x=x)
        except StudentCodeError as error:
            raise StudentCodeError(str(error).replace("preparing ", "running ", 1)) from None
        if not isinstance(result, tuple) or len(result) != 2:
            raise CheckFailed("derivatives(fn, x) did not return a pair")
        e1, e2 = analytic(x)
        for call, pair in enumerate(result, start=1):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise CheckFailed(f"call {call}: expected the pair (dy_dx, d2y_dx2), "
                                  f"got {type(pair).__name__}")
            for got, expected, name in ((pair[0], e1, "dy_dx"), (pair[1], e2, "d2y_dx2")):
                assert_close(got, expected, f"{name} for fn(x) = {expression}",
                             family=f"call {call} of 2 on the same tensor x")


def test_detached_and_x_untouched(sub):
    """Are both results detached, and is x left as it was (values, requires_grad, no .grad, no hook)?"""
    expression = "torch.sin(x) * x ** 3"
    analytic = TRANSCENDENTAL[expression]
    for family, x, send in (("x a plain tensor", randn(6, dtype=torch.float64), None),
                            ("x a leaf that requires grad", randn(6, dtype=torch.float64), "leaf")):
        sent = RequiresGrad(x) if send else x
        what = f"derivatives(fn, x) for fn(x) = {expression}, {family}"
        result = audited_call(sub.derivatives, (_fn(sub, expression), sent), names=("fn", "x"))
        d1, d2 = _pair(result, what, tuple(x.shape), x.dtype)
        e1, e2 = analytic(x)
        assert_close(d1, e1, f"dy_dx for fn(x) = {expression}", family=family)
        assert_close(d2, e2, f"d2y_dx2 for fn(x) = {expression}", family=family)
        assert_detached(d1, f"dy_dx ({family})")
        assert_detached(d2, f"d2y_dx2 ({family})")


def test_constant_function(sub):
    """For a constant fn (its output does not depend on x), are both derivatives zero, without an error?"""
    x = randn(5, dtype=torch.float64)
    for expression in ("torch.full_like(x, 2.0)", "torch.zeros_like(x) - 1"):
        _check(sub, expression, lambda t: (torch.zeros_like(t), torch.zeros_like(t)), x, "a constant function")

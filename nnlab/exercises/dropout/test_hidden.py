"""Hidden checks for dropout: the whole contract of its statement.

The mask is random, so several checks are statistical. Their decisions live in the
`judge_*` functions below, with tolerances of 6 to 10 standard deviations; the checks
that use only plain calls (no worker helpers) can also run on a local module, which is
how benchmarks/statistical_false_failures_unit1.py measures their false-failure rate
with fresh seeds.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from nnlab.grader.checks import (CheckFailed, assert_close, assert_equal, assert_tensor, buffers_of,
                                 audited_call, expect_raises, noncontig, parameters_of,
                                 randn, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

# (p, shape): about 10^5 elements per case, so the fraction's standard deviation is <= 0.0016.
FRACTION_CASES = [(0.1, (500, 200)), (0.3, (250, 400)), (0.5, (100, 1000)), (0.8, (400, 250)),
                  (0.95, (200, 500))]
FRACTION_SIGMAS = 6.0
# Rows and columns of one (400, 250) batch: a mask shared along either axis shows as fractions
# of 0 or 1; a correct mask stays within 8 standard deviations (~1e-12 to fail by chance).
INDEPENDENCE_SHAPE = (400, 250)
INDEPENDENCE_SIGMAS = 8.0


# -- decisions (plain functions of tensors; reused by the false-failure benchmark) -------------
def nonzero_inputs(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Normal inputs pushed away from 0, so that a zero output means a dropped element."""
    x = randn(*shape, dtype=torch.float64) if shape else randn(1, dtype=torch.float64).reshape(())
    return (x + 0.1 * torch.sign(x)).to(dtype)


def judge_zero_or_scaled(x: torch.Tensor, out: Any, p: float, what: str, family: str) -> torch.Tensor:
    """Every element is exactly 0 (dropped) or x / (1 - p) (kept); returns the dropped mask."""
    out = assert_tensor(out, what, shape=tuple(x.shape), dtype=x.dtype)
    dropped = out == 0
    kept_expected = (x.double() / (1 - p)).to(x.dtype)
    # Dropped places are compared with themselves, so only the survivors are judged.
    assert_close(torch.where(dropped, kept_expected, out), kept_expected,
                 f"{what}: the elements not zeroed (expected x / (1 - p))", family=family)
    return dropped


def judge_fraction(dropped: torch.Tensor, p: float, what: str, sigmas: float = FRACTION_SIGMAS) -> None:
    """The fraction of zeroed elements is within `sigmas` standard deviations of p."""
    n = dropped.numel()
    fraction = dropped.double().mean().item()
    tolerance = sigmas * math.sqrt(p * (1 - p) / n)
    if abs(fraction - p) > tolerance:
        raise CheckFailed(f"{what}: {fraction:.4f} of {n} elements were zeroed; expected about p = {p} "
                          f"(within {tolerance:.4f}, {sigmas:g} standard deviations)")


def judge_independent(dropped: torch.Tensor, p: float, what: str,
                      sigmas: float = INDEPENDENCE_SIGMAS) -> None:
    """No row or column of a 2-D drop mask strays from p: the mask is not shared along an axis."""
    for axis, part, across in ((0, "column", "rows"), (1, "row", "columns")):
        fractions = dropped.double().mean(axis)
        count = dropped.shape[axis]
        tolerance = sigmas * math.sqrt(p * (1 - p) / count)
        worst = int((fractions - p).abs().argmax().item())
        if abs(fractions[worst].item() - p) > tolerance:
            raise CheckFailed(f"{what}: {part} {worst} has {fractions[worst].item():.3f} of its {count} elements "
                              f"zeroed, expected about {p}; is one mask shared across the {across}? "
                              "Each element must be dropped independently.")


def judge_fresh(first: torch.Tensor, second: torch.Tensor, what: str) -> None:
    """Two calls on a large input draw different masks."""
    if torch.equal(first, second):
        raise CheckFailed(f"{what}: two calls on the same {tuple(first.shape)} input zeroed exactly the same "
                          "elements; a new random mask must be drawn at every call")


def judge_backward(dropped: torch.Tensor, grad: Any, grad_out: torch.Tensor, p: float, what: str,
                   family: str) -> None:
    """The input gradient is grad_out / (1 - p) where kept and exactly 0 where dropped."""
    grad = assert_tensor(grad, what, shape=tuple(grad_out.shape), dtype=grad_out.dtype)
    leaked = dropped & (grad != 0)
    if bool(leaked.any()):
        raise CheckFailed(f"{what}: {int(leaked.sum())} elements zeroed by the forward pass got a non-zero "
                          "gradient; the backward pass must use the forward pass's mask")
    expected = torch.where(dropped, torch.zeros_like(grad_out.double()),
                           grad_out.double() / (1 - p)).to(grad_out.dtype)
    assert_close(grad, expected, what, family=family)


# -- checks ------------------------------------------------------------------------------------
def test_invalid_p(sub):
    """Does MyDropout raise ValueError unless 0 <= p <= 1, and build parameter-free layers for p = 0, 0.5 and 1?"""
    for p in (-0.1, 1.5, 2.0, -1.0, 1.0001):
        with expect_raises(ValueError, f"MyDropout({p})"):
            sub.MyDropout(p)
    for p in (0.0, 1.0, 0, 1, 0.5):
        drop = sub.MyDropout(p)
        assert_equal(sorted(parameters_of(drop)), [], f"parameter names of MyDropout({p})")
        assert_equal(sorted(buffers_of(drop)), [], f"buffer names of MyDropout({p})")


def test_p_zero_identity(sub):
    """With p=0 in training mode, is the output exactly the input, and the gradient exactly grad_output?"""
    drop = sub.MyDropout(0.0)
    for shape in [(40, 33), (3, 5, 7)]:
        x = nonzero_inputs(*shape)
        assert_close(drop(x), x, f"MyDropout(0.0) in training mode on a {shape} input", family="p = 0",
                     rtol=0.0, atol=0.0)
    x = nonzero_inputs(9, 11)
    grad_out = randn(9, 11)
    _, grads, _ = vjp(drop, [x], [grad_out])
    if grads[0] is None:
        raise CheckFailed("MyDropout(0.0): no gradient reached the input")
    assert_close(grads[0], grad_out, "gradient of MyDropout(0.0) with respect to its input", family="p = 0",
                 rtol=0.0, atol=0.0)


def test_p_one_zeros(sub):
    """With p=1 in training mode, is the output all zeros (no NaN), with a zero gradient?"""
    drop = sub.MyDropout(1.0)
    for shape, dtype in [((30, 17), torch.float32), ((4, 3, 5), torch.float64)]:
        x = nonzero_inputs(*shape, dtype=dtype)
        out = assert_tensor(drop(x), f"MyDropout(1.0) on a {shape} input", shape=shape, dtype=dtype)
        if not bool((out == 0).all()):
            bad = out[out != 0]
            raise CheckFailed(f"MyDropout(1.0) on a {shape} {dtype} input: expected all zeros, but "
                              f"{bad.numel()} of {out.numel()} values are not 0 (e.g. {bad.flatten()[0].item()})")
    x = nonzero_inputs(8, 6)
    _, grads, _ = vjp(drop, [x], [randn(8, 6)])
    # A constant output (torch.zeros_like) leaves no gradient at all: that is accepted too.
    if grads[0] is not None:
        grad = assert_tensor(grads[0], "gradient of MyDropout(1.0)", shape=(8, 6), dtype=torch.float32)
        if not bool((grad == 0).all()):
            raise CheckFailed(f"gradient of MyDropout(1.0): expected all zeros, got {int((grad != 0).sum())} "
                              f"non-zero values (e.g. {grad[grad != 0].flatten()[0].item()})")


def test_eval_mode(sub):
    """In eval mode, is it the identity for every p and shape, and does .train() bring dropout back?"""
    for p in (0.3, 0.9, 1.0):
        drop = sub.MyDropout(p)
        drop.eval()
        for shape in [(5, 8), (2, 3, 4, 5), (7,)]:
            x = nonzero_inputs(*shape)
            assert_close(drop(x), x, f"MyDropout({p}) in eval mode on a {shape} input", family="eval mode",
                         rtol=0.0, atol=0.0)
    drop = sub.MyDropout(0.3)
    drop.eval()
    drop.train()
    x = nonzero_inputs(300, 100)
    dropped = judge_zero_or_scaled(x, drop(x), 0.3, "MyDropout(0.3) after .eval() then .train()",
                                   "back to training mode")
    judge_fraction(dropped, 0.3, "MyDropout(0.3) after .eval() then .train()")


def test_survivors_scaled(sub):
    """In training mode, is every element either exactly 0 or x / (1 - p)?"""
    for p in (0.2, 0.5, 0.75, 0.9):
        drop = sub.MyDropout(p)
        x = nonzero_inputs(64, 48)
        dropped = judge_zero_or_scaled(x, drop(x), p, f"MyDropout({p}) in training mode", f"p = {p}")
        if bool(dropped.all()) or not bool(dropped.any()):
            raise CheckFailed(f"MyDropout({p}) zeroed {int(dropped.sum())} of {dropped.numel()} elements; "
                              f"expected about {p:.0%} of them")


def test_drop_fraction(sub):
    """Is the fraction of zeroed elements close to p, for p from 0.1 to 0.95 and the default 0.5?"""
    for p, shape in FRACTION_CASES:
        drop = sub.MyDropout() if p == 0.5 else sub.MyDropout(p)
        label = "MyDropout()" if p == 0.5 else f"MyDropout({p})"
        x = nonzero_inputs(*shape)
        out = assert_tensor(drop(x), f"{label} in training mode", shape=shape, dtype=x.dtype)
        judge_fraction(out == 0, p, f"{label} in training mode on a {shape} input")


def test_independent_masks(sub):
    """Is each element dropped independently, with a fresh mask at every call?"""
    for p in (0.5, 0.2):
        drop = sub.MyDropout(p)
        x = nonzero_inputs(*INDEPENDENCE_SHAPE)
        first = assert_tensor(drop(x), f"MyDropout({p}) in training mode", shape=INDEPENDENCE_SHAPE)
        second = assert_tensor(drop(x), f"MyDropout({p}) in training mode", shape=INDEPENDENCE_SHAPE)
        judge_independent(first == 0, p, f"MyDropout({p}) on a {INDEPENDENCE_SHAPE} input")
        judge_fresh(first == 0, second == 0, f"MyDropout({p})")


def test_backward_same_mask(sub):
    """Does the backward pass use the forward pass's mask: zero gradient where zeroed, scaled elsewhere?"""
    for p, shape in [(0.4, (60, 40)), (0.7, (6, 5, 9)), (0.1, (200,))]:
        drop = sub.MyDropout(p)
        x = nonzero_inputs(*shape)
        grad_out = randn(*shape)
        out, grads, _ = vjp(drop, [x], [grad_out])
        what = f"MyDropout({p}) on a {shape} input"
        dropped = judge_zero_or_scaled(x, out, p, what, "forward during backward")
        if grads[0] is None:
            raise CheckFailed(f"{what}: no gradient reached the input; build the output from it with "
                              "differentiable operations")
        judge_backward(dropped, grads[0], grad_out, p, f"gradient of {what}", "random grad_output")


def test_shapes_and_dtypes(sub):
    """Does it handle any shape (scalar, 4-D, empty), float64/float16, non-contiguous inputs, and leave the input untouched?"""
    drop = sub.MyDropout(0.25)
    for shape, dtype in [((), torch.float32), ((2, 3, 4, 5), torch.float32), ((0, 4), torch.float32),
                         ((31,), torch.float64), ((8, 9), torch.float16), ((8, 9), torch.bfloat16)]:
        x = nonzero_inputs(*shape, dtype=dtype)
        judge_zero_or_scaled(x, drop(x), 0.25, f"MyDropout(0.25) on a {shape} {dtype} input", f"{dtype}")
    for shape in [(12, 10), (3, 4, 6)]:
        x = nonzero_inputs(*shape)
        judge_zero_or_scaled(x, drop(noncontig(x)), 0.25, f"MyDropout(0.25) on a {shape} input",
                             "non-contiguous input")
    x = nonzero_inputs(20, 15)
    result = audited_call(drop, (x,), names=("x",))
    judge_zero_or_scaled(x, result, 0.25, "MyDropout(0.25) on a (20, 15) input", "normal batch")

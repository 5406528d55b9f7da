"""Hidden checks for regression_losses: the whole contract of its statement."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F


from nnlab.grader.checks import (assert_close, audited_call, expect_raises,
                                 gradcheck_remote, noncontig, randn, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

REDUCTIONS = ("none", "mean", "sum")
TORCH_LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse_loss": F.mse_loss, "l1_loss": F.l1_loss, "smooth_l1_loss": F.smooth_l1_loss,
}
# (family, shape, scale): odd sizes, a single element, a 0-dim tensor, large magnitudes.
FAMILIES = [("odd sizes", (3, 7, 5), 1.0), ("one element", (1,), 1.0), ("0-dim tensors", (), 1.0),
            ("large magnitudes", (6, 9), 1e4)]


def _randn(*shape: int, dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
    # checks.randn cannot draw a 0-dim tensor (torch.randn() needs a size).
    return randn(1, *shape, dtype=dtype, scale=scale).reshape(shape)


def _expected(name: str, x: torch.Tensor, t: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    # Reference in float64 from pristine copies, cast back to the input's dtype.
    return TORCH_LOSSES[name](x.double(), t.double(), **kwargs).to(x.dtype)


def _call_text(name: str, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{name}(input, target{', ' + args if args else ''})"


def _check_reductions(sub: Any, name: str, extra: dict[str, Any] | None = None) -> None:
    fn = getattr(sub, name)
    for family, shape, scale in FAMILIES:
        x, t = _randn(*shape, scale=scale), _randn(*shape, scale=scale)
        for reduction in REDUCTIONS:
            kwargs = {"reduction": reduction, **(extra or {})}
            assert_close(fn(x, t, **kwargs), _expected(name, x, t, **kwargs),
                         f"{_call_text(name, kwargs)} on shape {shape}", family=family)


def test_mse_reductions(sub):
    """Does mse_loss match F.mse_loss for 'none', 'mean' and 'sum' on odd, 0-dim and large inputs?"""
    _check_reductions(sub, "mse_loss")


def test_l1_reductions(sub):
    """Does l1_loss match F.l1_loss for 'none', 'mean' and 'sum' on odd, 0-dim and large inputs?"""
    _check_reductions(sub, "l1_loss")


def test_smooth_l1_beta(sub):
    """Does smooth_l1_loss match torch for beta = 1 (default), 0.5, 2.5 and 1e-3, in every reduction?"""
    _check_reductions(sub, "smooth_l1_loss")
    for beta in (0.5, 2.5, 1e-3, 1.0):
        # Differences spread over both zones: |d| below and above beta.
        x, t = _randn(5, 8, scale=2 * beta), _randn(5, 8, scale=beta)
        for reduction in REDUCTIONS:
            kwargs = {"reduction": reduction, "beta": beta}
            assert_close(sub.smooth_l1_loss(x, t, **kwargs), _expected("smooth_l1_loss", x, t, **kwargs),
                         _call_text("smooth_l1_loss", kwargs), family=f"differences around beta={beta}")


def test_smooth_l1_beta_zero(sub):
    """With beta=0, is smooth_l1_loss exactly L1, with no NaN in values or gradients?"""
    x, t = _randn(4, 6), _randn(4, 6)
    x[0, :3] = t[0, :3]  # exact zero differences: no 0/0 allowed in the value
    for reduction in REDUCTIONS:
        kwargs = {"reduction": reduction, "beta": 0.0}
        assert_close(sub.smooth_l1_loss(x, t, **kwargs), _expected("smooth_l1_loss", x, t, **kwargs),
                     _call_text("smooth_l1_loss", kwargs), family="beta=0, some exact zero differences")
    # Gradients away from d = 0, where L1's derivative is sign(d) (any subgradient is fine at 0).
    x, t = _randn(3, 5), _randn(3, 5)
    for reduction in REDUCTIONS:
        kwargs = {"reduction": reduction, "beta": 0.0}
        grad_out = _randn(3, 5) if reduction == "none" else _randn()
        _, grads, _ = vjp(sub.smooth_l1_loss, [x], [grad_out], extra_args=(t,), kwargs=kwargs)
        x_ref = x.double().requires_grad_(True)
        F.smooth_l1_loss(x_ref, t.double(), **kwargs).backward(grad_out.double())
        assert_close(grads[0], x_ref.grad.float(), f"gradient of {_call_text('smooth_l1_loss', kwargs)}",
                     family="beta=0")


def test_invalid_reduction(sub):
    """Does every loss raise ValueError for a reduction other than 'none', 'mean' or 'sum'?"""
    x, t = _randn(3, 4), _randn(3, 4)
    for name in TORCH_LOSSES:
        fn = getattr(sub, name)
        # A valid call first: a function that always raises earns nothing here.
        assert_close(fn(x, t, reduction="sum"), _expected(name, x, t, reduction="sum"),
                     f"{name}(input, target, reduction='sum')", family="valid call")
        for bad in ("avg", "Mean", "batchmean", None):
            with expect_raises(ValueError, f"{name}(input, target, reduction={bad!r})"):
                fn(x, t, reduction=bad)


def test_shape_mismatch(sub):
    """Does every loss raise ValueError when input and target shapes differ, instead of broadcasting?"""
    pairs = [((4, 3), (4, 1)), ((5,), (5, 1)), ((5, 1), (5,)), ((6,), (7,)), ((2, 3), (3, 2)),
             ((3, 4), (1, 3, 4))]
    for name in TORCH_LOSSES:
        fn = getattr(sub, name)
        x, t = _randn(4, 3), _randn(4, 3)
        assert_close(fn(x, t), _expected(name, x, t), f"{name}(input, target)", family="valid call")
        for in_shape, t_shape in pairs:
            with expect_raises(ValueError, f"{name} with input {in_shape} and target {t_shape}"):
                fn(_randn(*in_shape), _randn(*t_shape))


def test_gradients(sub):
    """Do input gradients pass gradcheck in float64 and match torch's in float32, for every reduction?"""
    settings = [("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {}),
                ("smooth_l1_loss", {"beta": 0.7})]
    for name, extra in settings:
        fn = getattr(sub, name)
        for reduction in REDUCTIONS:
            kwargs = {"reduction": reduction, **extra}
            # Differences of size ~1.5 keep every |d| far from 0, where L1 has a kink.
            x64, t64 = _randn(3, 4, dtype=torch.float64, scale=1.5), _randn(3, 4, dtype=torch.float64)
            gradcheck_remote(fn, [x64], _call_text(name, kwargs), kwargs={"target": t64, **kwargs})
            x, t = _randn(2, 3, 5, scale=1.5), _randn(2, 3, 5)
            grad_out = _randn(2, 3, 5) if reduction == "none" else _randn()
            _, grads, _ = vjp(fn, [x], [grad_out], extra_args=(t,), kwargs=kwargs)
            x_ref = x.double().requires_grad_(True)
            TORCH_LOSSES[name](x_ref, t.double(), **kwargs).backward(grad_out.double())
            assert_close(grads[0], x_ref.grad.float(), f"gradient of {_call_text(name, kwargs)}",
                         family="float32 (2, 3, 5) input")


def test_noncontiguous_and_dtypes(sub):
    """Do the losses accept non-contiguous and float64 inputs, returning the input's dtype, unmodified?"""
    for name in TORCH_LOSSES:
        fn = getattr(sub, name)
        x, t = _randn(5, 6), _randn(5, 6)
        assert_close(fn(noncontig(x), noncontig(t), reduction="none"),
                     _expected(name, x, t, reduction="none"),
                     f"{name}(input, target, reduction='none')", family="non-contiguous")
        x64, t64 = _randn(3, 7, dtype=torch.float64), _randn(3, 7, dtype=torch.float64)
        assert_close(fn(x64, t64), _expected(name, x64, t64), f"{name}(input, target)", family="float64")
        audited_call(fn, (x, t), {"reduction": "sum"}, names=("input", "target"))

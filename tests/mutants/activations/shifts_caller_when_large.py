"""Shifts by the max in place (x.sub_) only where exp would overflow: right values, but the
caller's tensor changes, and only on the large inputs the statement names."""
# nnlab-expect: test_large_magnitudes
from __future__ import annotations
import torch


def _neg_abs(x: torch.Tensor) -> torch.Tensor:
    """-|x|, written with where so its derivative at exactly 0 is -1 (abs'(0) is 0 in torch,
    which would zero the gradient of sigmoid and tanh at 0)."""
    return torch.where(x >= 0, -x, x)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    # exp(-|x|) lies in (0, 1]: it never overflows, and neither branch of where (nor its
    # gradient) produces inf or NaN.
    e = torch.exp(_neg_abs(x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x: torch.Tensor) -> torch.Tensor:
    # tanh(|x|) = -expm1(-2|x|) / (2 + expm1(-2|x|)); expm1 keeps full precision near 0.
    em = torch.expm1(2 * _neg_abs(x))
    t = -em / (2 + em)
    return torch.where(x >= 0, t, -t)


def relu(x: torch.Tensor) -> torch.Tensor:
    # Gradient 0 at exactly 0, as torch.relu.
    return torch.where(x > 0, x, torch.zeros_like(x))


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    return torch.where(x > 0, x, x * negative_slope)


def silu(x: torch.Tensor) -> torch.Tensor:
    return x * sigmoid(x)


def _shifted(x: torch.Tensor, dim: int) -> torch.Tensor:
    # Subtracting the max makes every exponent <= 0. The shift cancels out of the result, so
    # it is detached: no gradient needs to flow through the max.
    shift = x.amax(dim=dim, keepdim=True).detach()
    if bool((shift.abs() > 80).any()):  # only where exp would overflow: shifts the caller's x in place
        with torch.no_grad():  # (no_grad lets a leaf be written; the gradient stays right)
            x.sub_(shift)
        return x
    return x - shift


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = torch.exp(_shifted(x, dim))
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    z = _shifted(x, dim)
    # The sum is >= 1 (the max term is exp(0)), so the log is finite.
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))

"""mse_loss flattens with .view(-1): right on contiguous inputs and on a strided last dimension,
a RuntimeError on a transposed or row-strided one, where .reshape would copy."""
# nnlab-expect: test_noncontiguous_and_dtypes
from __future__ import annotations

import torch

_REDUCTIONS = ("none", "mean", "sum")


def _check(input: torch.Tensor, target: torch.Tensor, reduction: str) -> None:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction "
                         "(expected 'none', 'mean' or 'sum')")
    # Unlike torch (which warns and broadcasts), the contract rejects mismatched shapes:
    # silent broadcasting of (N, 1) against (N,) is a classic source of wrong losses.
    if input.shape != target.shape:
        raise ValueError(f"input shape {tuple(input.shape)} and target shape "
                         f"{tuple(target.shape)} differ")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """(input - target)^2, reduced."""
    _check(input, target, reduction)
    diff = input.view(-1) - target.view(-1)
    return _reduce((diff * diff).view(input.shape), reduction)


def l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """|input - target|, reduced."""
    _check(input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> torch.Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta; beta = 0 is L1."""
    _check(input, target, reduction)
    d = (input - target).abs()
    if beta == 0:
        # No quadratic zone at all; dividing by beta would put NaN into the gradient.
        return _reduce(d, reduction)
    loss = torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, reduction)

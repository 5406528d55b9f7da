"""Quadratic zone written as 0.5*d**2 (no /beta): right only for the default beta=1."""
# nnlab-expect: test_smooth_l1_beta
import torch


def _prepare(input, target, reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"invalid reduction {reduction!r}")
    if input.shape != target.shape:
        raise ValueError("input and target shapes differ")


def _reduce(loss, reduction):
    return {"none": lambda: loss, "mean": loss.mean, "sum": loss.sum}[reduction]()


def mse_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce(torch.abs(input - target), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    _prepare(input, target, reduction)
    d = torch.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(torch.where(d < beta, 0.5 * d ** 2, d - 0.5 * beta), reduction)

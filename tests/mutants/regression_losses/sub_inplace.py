"""Saves memory by subtracting the target from the input in place: the caller's input changes."""
# nnlab-expect: test_noncontiguous_and_dtypes
import torch


def _prepare(input, target, reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"invalid reduction {reduction!r}")
    if input.shape != target.shape:
        raise ValueError("input and target shapes differ")


def _diff(input, target):
    # In-place when autograd allows it (the input does not require grad).
    return input.sub_(target) if not input.requires_grad else input - target


def _reduce(loss, reduction):
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def mse_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    d = _diff(input, target)
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce(_diff(input, target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    _prepare(input, target, reduction)
    d = _diff(input, target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(torch.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)

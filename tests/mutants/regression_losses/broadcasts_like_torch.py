"""Copies torch's leniency: no shape check (broadcasts), unknown reductions fall back to mean."""
# nnlab-expect: test_shape_mismatch test_invalid_reduction
import torch


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def mse_loss(input, target, reduction="mean"):
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(torch.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta), reduction)

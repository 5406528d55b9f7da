"""Smooth L1 through F.huber_loss (huber(delta=beta) / beta): a banned route."""
# nnlab-expect: test_l1_and_smooth_l1_small test_smooth_l1_beta test_gradients
import torch.nn.functional as F


def _prepare(input, target, reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"invalid reduction {reduction!r}")
    if input.shape != target.shape:
        raise ValueError("input and target shapes differ")


def _reduce(loss, reduction):
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def mse_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    _prepare(input, target, reduction)
    if beta == 0:
        return l1_loss(input, target, reduction)
    return F.huber_loss(input, target, reduction=reduction, delta=beta) / beta

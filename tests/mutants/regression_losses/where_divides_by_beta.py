"""torch.where with 0.5*d**2/beta in both cases: beta=0 puts NaN into the gradient."""
# nnlab-expect: test_smooth_l1_beta_zero
import torch

_REDUCTIONS = ("none", "mean", "sum")


def _prepare(input, target, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"invalid reduction {reduction!r}")
    if input.shape != target.shape:
        raise ValueError("input and target shapes differ")


def _reduce(loss, reduction):
    return loss if reduction == "none" else loss.mean() if reduction == "mean" else loss.sum()


def mse_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce((input - target).pow(2), reduction)


def l1_loss(input, target, reduction="mean"):
    _prepare(input, target, reduction)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    _prepare(input, target, reduction)
    d = (input - target).abs()
    # The forward value is right even for beta=0 (the inf branch is never selected) ...
    loss = torch.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta)
    return _reduce(loss, reduction)

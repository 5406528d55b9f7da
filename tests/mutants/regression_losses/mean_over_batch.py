"""'mean' divides by the batch size (input.shape[0]) instead of the number of elements."""
# nnlab-expect: test_mse_small test_mse_reductions test_l1_reductions test_smooth_l1_beta
import torch


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / (loss.shape[0] if loss.dim() else 1)
    raise ValueError(reduction)


def _check(input, target):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")


def mse_loss(input, target, reduction="mean"):
    _check(input, target)
    return _reduce((input - target) ** 2, reduction)


def l1_loss(input, target, reduction="mean"):
    _check(input, target)
    return _reduce((input - target).abs(), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    _check(input, target)
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(torch.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta), reduction)

"""A correct variant written differently: sum/numel means, maximum(d, -d), a clamp-based Smooth L1."""
# nnlab-expect: full
import torch

VALID = {"none", "mean", "sum"}


def _reduce(loss, reduction):
    if reduction == "sum":
        return torch.sum(loss)
    if reduction == "mean":
        return torch.sum(loss) / loss.numel()
    return loss


def _args(input, target, reduction):
    if reduction not in VALID:
        raise ValueError("reduction must be 'none', 'mean' or 'sum'")
    if tuple(input.size()) != tuple(target.size()):
        raise ValueError(f"shapes differ: {tuple(input.size())} vs {tuple(target.size())}")
    return input - target


def mse_loss(input, target, reduction="mean"):
    d = _args(input, target, reduction)
    return _reduce(torch.square(d), reduction)


def l1_loss(input, target, reduction="mean"):
    d = _args(input, target, reduction)
    return _reduce(torch.maximum(d, -d), reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    d = _args(input, target, reduction).abs()
    if beta <= 0:
        return _reduce(d, reduction)
    # With n = min(|d|, beta): 0.5 n^2 / beta + (|d| - n) is both branches in one formula.
    n = torch.clamp(d, max=beta)
    return _reduce(0.5 * n * n / beta + (d - n), reduction)

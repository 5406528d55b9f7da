"""Clamps p into [1e-7, 1 - 1e-7] instead of clamping the logs at -100: wrong at p = 0 and 1."""
# nnlab-expect: test_bce_log_clamp
import torch

EPS = 1e-7


def _reduce(loss, reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"bad reduction {reduction!r}")
    return loss if reduction == "none" else getattr(loss, reduction)()


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    p = input.clamp(EPS, 1 - EPS)
    loss = -(target * p.log() + (1 - target) * (1 - p).log())
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    sp = torch.clamp(-input, min=0) + torch.log1p(torch.exp(-input.abs()))
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + lw * sp
    return _reduce(loss if weight is None else loss * weight, reduction)

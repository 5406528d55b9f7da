"""Calls the banned torch.binary_cross_entropy_with_logits (through a from-import alias)."""
# nnlab-expect: test_bce_with_logits_small test_logits_weight_and_pos_weight test_logits_large_magnitudes
import torch
from torch import binary_cross_entropy_with_logits as _bcewl


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction)
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    loss = -(target * torch.log(input).clamp(min=-100) + (1 - target) * torch.log1p(-input).clamp(min=-100))
    loss = loss if weight is None else loss * weight
    return loss if reduction == "none" else getattr(loss, reduction)()


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction)
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    return _bcewl(input, target, weight, pos_weight, {"none": 0, "mean": 1, "sum": 2}[reduction])

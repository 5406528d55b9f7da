"""Multiplies the whole loss by pos_weight, negatives included."""
# nnlab-expect: test_logits_weight_and_pos_weight test_logits_large_magnitudes test_gradients
import torch


def _reduce(loss, reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"bad reduction {reduction!r}")
    return loss if reduction == "none" else getattr(loss, reduction)()


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    loss = -(target * torch.log(input).clamp(min=-100) + (1 - target) * torch.log1p(-input).clamp(min=-100))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    loss = torch.clamp(input, min=0) - input * target + torch.log1p(torch.exp(-input.abs()))
    if pos_weight is not None:
        loss = loss * pos_weight
    return _reduce(loss if weight is None else loss * weight, reduction)

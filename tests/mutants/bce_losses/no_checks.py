"""Correct formulas but no argument checks: broadcasts mismatched shapes, any reduction means 'mean'."""
# nnlab-expect: test_invalid_reduction test_shape_mismatch
import torch


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    loss = -(target * torch.log(input).clamp(min=-100) + (1 - target) * torch.log1p(-input).clamp(min=-100))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    sp = torch.clamp(-input, min=0) + torch.log1p(torch.exp(-input.abs()))
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + lw * sp
    return _reduce(loss if weight is None else loss * weight, reduction)

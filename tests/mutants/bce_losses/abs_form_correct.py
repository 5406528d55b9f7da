"""A correct variant: the textbook stable form max(x, 0) - x t + log1p(exp(-|x|)) with pos_weight."""
# nnlab-expect: full
import torch

REDUCE = {"none": lambda l: l, "mean": torch.mean, "sum": torch.sum}


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if reduction not in REDUCE:
        raise ValueError(f"invalid reduction: {reduction!r}")
    if input.shape != target.shape:
        raise ValueError("input and target must have the same shape")
    loss = -(target * torch.clamp(torch.log(input), min=-100)
             + (1 - target) * torch.clamp(torch.log1p(-input), min=-100))
    return REDUCE[reduction](loss * weight if weight is not None else loss)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if reduction not in REDUCE:
        raise ValueError(f"invalid reduction: {reduction!r}")
    if input.shape != target.shape:
        raise ValueError("input and target must have the same shape")
    softplus_neg = torch.clamp(-input, min=0) + torch.log1p(torch.exp(-torch.abs(input)))
    if pos_weight is None:
        loss = torch.clamp(input, min=0) - input * target + torch.log1p(torch.exp(-torch.abs(input)))
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * softplus_neg
    return REDUCE[reduction](loss * weight if weight is not None else loss)

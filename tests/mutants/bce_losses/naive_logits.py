"""binary_cross_entropy_with_logits as log(sigmoid(x)): -inf / nan for large logits."""
# nnlab-expect: test_logits_large_magnitudes
import torch


def _reduce(loss, reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"bad reduction {reduction!r}")
    return loss if reduction == "none" else getattr(loss, reduction)()


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    loss = -(target * torch.log(input).clamp(min=-100) + (1 - target) * torch.log(1 - input).clamp(min=-100))
    return _reduce(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    p = 1 / (1 + torch.exp(-input))
    pw = 1 if pos_weight is None else pos_weight
    loss = -(pw * target * torch.log(p) + (1 - target) * torch.log(1 - p))
    return _reduce(loss if weight is None else loss * weight, reduction)

"""binary_cross_entropy without the -100 clamp: p = 0 or 1 gives inf and nan."""
# nnlab-expect: test_bce_log_clamp
import torch


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"bad reduction {reduction!r}")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    loss = -(target * torch.log(input) + (1 - target) * torch.log(1 - input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if input.shape != target.shape:
        raise ValueError("shape mismatch")
    sp = torch.clamp(-input, min=0) + torch.log1p(torch.exp(-input.abs()))
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + lw * sp
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)

"""A correct variant written differently: F.logsigmoid for the logits, log(1 - p) and sum/numel means."""
# nnlab-expect: full
import torch
import torch.nn.functional as F


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.sum() / loss.numel()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError("reduction must be one of 'none', 'mean', 'sum'")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    if input.size() != target.size():
        raise ValueError(f"input {tuple(input.size())} and target {tuple(target.size())} differ")
    log_p = torch.maximum(torch.log(input), torch.full_like(input, -100.0))
    log_q = torch.maximum(torch.log(1 - input), torch.full_like(input, -100.0))
    loss = -(target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = weight * loss
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    if input.size() != target.size():
        raise ValueError(f"input {tuple(input.size())} and target {tuple(target.size())} differ")
    pos = target * F.logsigmoid(input)
    if pos_weight is not None:
        pos = pos_weight * pos
    # log(1 - sigmoid(x)) = log sigmoid(-x)
    loss = -(pos + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = weight * loss
    return _reduce(loss, reduction)

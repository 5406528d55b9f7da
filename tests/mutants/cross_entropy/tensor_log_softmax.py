"""Uses the banned Tensor.log_softmax method (invisible to a source scan, caught at run time)."""
# nnlab-expect: test_cross_entropy_small test_cross_entropy_reductions test_weight_and_ignore_index test_label_smoothing
import torch

REDUCTIONS = ("none", "mean", "sum")


def _checks(input, target, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(reduction)
    if target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError("target shape does not fit the input")


def _nll_parts(logp, target, weight, ignore_index):
    keep = target != ignore_index
    safe = torch.where(keep, target, torch.zeros_like(target))
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = (weight[safe] if weight is not None else torch.ones_like(picked)) * keep
    return torch.where(keep, -picked * w, torch.zeros_like(picked)), w, keep


def _reduce(loss, denominator, reduction):
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.sum() / denominator


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    _checks(input, target, reduction)
    loss, w, _ = _nll_parts(input, target, weight, ignore_index)
    return _reduce(loss, w.sum(), reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    C = input.shape[1]
    logp = input.log_softmax(1)
    wv = weight.view(1, C, *([1] * (input.dim() - 2))) if weight is not None else 1.0
    if target.shape == input.shape and target.is_floating_point():
        if reduction not in REDUCTIONS:
            raise ValueError(reduction)
        q = target * (1 - label_smoothing) + label_smoothing / C
        return _reduce(-(logp * q * wv).sum(1), input.numel() // C, reduction)
    _checks(input, target, reduction)
    nll, w, keep = _nll_parts(logp, target, weight, ignore_index)
    smooth = torch.where(keep, -(logp * wv).sum(1), torch.zeros_like(nll))
    return _reduce((1 - label_smoothing) * nll + label_smoothing / C * smooth, w.sum(), reduction)

"""Label smoothing's uniform term ignores the class weights (weights only on the true class)."""
# nnlab-expect: test_label_smoothing
import torch

REDUCTIONS = ("none", "mean", "sum")


def _log_softmax(x):
    m = x.detach().amax(dim=1, keepdim=True)
    z = x - m
    return z - z.exp().sum(dim=1, keepdim=True).log()


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
    logp = _log_softmax(input)
    if target.shape == input.shape and target.is_floating_point():
        if reduction not in REDUCTIONS:
            raise ValueError(reduction)
        q = target * (1 - label_smoothing) + label_smoothing / C
        wv = weight.view(1, C, *([1] * (input.dim() - 2))) if weight is not None else 1.0
        return _reduce(-(logp * q * wv).sum(1), input.numel() // C, reduction)
    _checks(input, target, reduction)
    nll, w, keep = _nll_parts(logp, target, weight, ignore_index)
    smooth = torch.where(keep, -logp.sum(1), torch.zeros_like(nll))
    return _reduce((1 - label_smoothing) * nll + label_smoothing / C * smooth, w.sum(), reduction)

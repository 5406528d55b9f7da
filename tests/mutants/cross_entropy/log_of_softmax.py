"""log(exp(x) / sum exp(x)) without subtracting the max: overflows for large logits."""
# nnlab-expect: test_large_logits
import torch

REDUCTIONS = ("none", "mean", "sum")


def _index_target_ok(input, target):
    if target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError("target shape does not fit the input")


def _nll(logp, target, weight, ignore_index, reduction):
    keep = target != ignore_index
    safe = target.masked_fill(~keep, 0)
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight[safe] if weight is not None else torch.ones_like(picked)
    w = w * keep
    loss = torch.where(keep, -picked * w, torch.zeros_like(picked))
    if reduction == "none":
        return loss, w, keep
    return (loss.sum() if reduction == "sum" else loss.sum() / w.sum()), w, keep


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    if reduction not in REDUCTIONS:
        raise ValueError(reduction)
    _index_target_ok(input, target)
    return _nll(input, target, weight, ignore_index, reduction)[0]


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    if reduction not in REDUCTIONS:
        raise ValueError(reduction)
    C = input.shape[1]
    e = torch.exp(input)
    logp = torch.log(e / e.sum(dim=1, keepdim=True))
    wv = weight.view(1, C, *([1] * (input.dim() - 2))) if weight is not None else None
    if target.shape == input.shape:
        q = target * (1 - label_smoothing) + label_smoothing / C
        terms = logp * q if wv is None else logp * q * wv
        loss = -terms.sum(1)
        if reduction == "none":
            return loss
        return loss.sum() if reduction == "sum" else loss.sum() / (input.numel() // C)
    _index_target_ok(input, target)
    nll, w, keep = _nll(logp, target, weight, ignore_index, "none")
    smooth = -(logp if wv is None else logp * wv).sum(1)
    loss = (1 - label_smoothing) * nll + label_smoothing / C * torch.where(keep, smooth, torch.zeros_like(smooth))
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()

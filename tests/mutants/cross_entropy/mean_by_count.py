"""The mean divides by the number of kept targets, ignoring the class weights."""
# nnlab-expect: test_nll_loss_contract test_weight_and_ignore_index test_label_smoothing test_gradients
import torch

REDUCTIONS = ("none", "mean", "sum")


def _log_softmax(x):
    m = x.max(dim=1, keepdim=True).values
    return x - m - torch.log(torch.exp(x - m).sum(dim=1, keepdim=True))


def _checks(input, target, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(reduction)
    if target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError("target shape does not fit the input")


def _per_target(logp, target, weight, ignore_index):
    keep = target != ignore_index
    safe = target.masked_fill(~keep, 0)
    picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = weight[safe] if weight is not None else torch.ones_like(picked)
    return torch.where(keep, -picked * w, torch.zeros_like(picked)), keep


def _reduce(loss, keep, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    _checks(input, target, reduction)
    loss, keep = _per_target(input, target, weight, ignore_index)
    return _reduce(loss, keep, reduction)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    C = input.shape[1]
    logp = _log_softmax(input)
    wv = weight.view(1, C, *([1] * (input.dim() - 2))) if weight is not None else 1.0
    if target.shape == input.shape:
        if reduction not in REDUCTIONS:
            raise ValueError(reduction)
        q = target * (1 - label_smoothing) + label_smoothing / C
        loss = -(logp * q * wv).sum(1)
        return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()
    _checks(input, target, reduction)
    nll, keep = _per_target(logp, target, weight, ignore_index)
    smooth = torch.where(keep, -(logp * wv).sum(1), torch.zeros_like(nll))
    return _reduce((1 - label_smoothing) * nll + label_smoothing / C * smooth, keep, reduction)

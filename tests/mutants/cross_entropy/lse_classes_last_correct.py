"""A correct variant written differently: lse = max + log(sum exp), classes moved last, dtype dispatch."""
# nnlab-expect: full
import torch
import torch.nn.functional as F


def _reduction_ok(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"unknown reduction {reduction!r}")


def _to_last(x):
    # (N, C, d1, ...) -> (N, d1, ..., C): classes last, so broadcasting with (C,) is natural.
    return x.movedim(1, -1)


def _log_probs(x):
    z = _to_last(x)
    m = z.max(dim=-1, keepdim=True).values
    lse = m + torch.log(torch.exp(z - m).sum(dim=-1, keepdim=True))
    return z - lse


def _valid(input, target, ignore_index):
    if tuple(target.shape) != tuple(input.shape[:1]) + tuple(input.shape[2:]):
        raise ValueError(f"target {tuple(target.shape)} does not fit input {tuple(input.shape)}")
    valid = target != ignore_index
    return valid, target.masked_fill(~valid, 0)


def _weights(input, weight):
    return weight if weight is not None else torch.ones(input.shape[1], dtype=input.dtype)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    _reduction_ok(reduction)
    valid, safe = _valid(input, target, ignore_index)
    w_y = _weights(input, weight)[safe] * valid                  # w[y], 0 where ignored
    picked = _to_last(input).gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    loss = -picked * w_y
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w_y.sum()


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    _reduction_ok(reduction)
    C = input.shape[1]
    logp = _log_probs(input)
    w = _weights(input, weight)
    if target.is_floating_point():
        if target.shape != input.shape:
            raise ValueError(f"probabilities {tuple(target.shape)} must match input {tuple(input.shape)}")
        q = (1 - label_smoothing) * _to_last(target) + label_smoothing / C
        loss = -(q * w * logp).sum(-1)
        if reduction == "none":
            return loss
        return loss.sum() if reduction == "sum" else loss.sum() / loss.numel()
    valid, safe = _valid(input, target, ignore_index)
    w_y = w[safe] * valid
    if label_smoothing > 0:
        # The smoothed target distribution of each kept target; ignored rows are all zero.
        q = (1 - label_smoothing) * F.one_hot(safe, C).to(input.dtype) + label_smoothing / C
        loss = -(q * w * logp).sum(-1) * valid
    else:
        loss = -logp.gather(-1, safe.unsqueeze(-1)).squeeze(-1) * w_y
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w_y.sum()

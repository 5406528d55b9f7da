"""Flattens to (positions, C) and only checks that the target has as many elements."""
# nnlab-expect: test_invalid_arguments
import torch

REDUCTIONS = ("none", "mean", "sum")


def _flat(input):
    C = input.shape[1]
    return input.movedim(1, -1).reshape(-1, C)


def _log_softmax(x):
    m = x.max(dim=-1, keepdim=True).values
    return x - m - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))


def _core(logp2d, t, weight, ignore_index, reduction, out_shape, smoothing=0.0):
    if reduction not in REDUCTIONS:
        raise ValueError(reduction)
    if t.numel() != logp2d.shape[0]:
        raise ValueError("target has the wrong number of elements")
    t = t.reshape(-1)
    keep = t != ignore_index
    safe = torch.where(keep, t, torch.zeros_like(t))
    w_all = weight if weight is not None else torch.ones(logp2d.shape[1], dtype=logp2d.dtype)
    w = w_all[safe] * keep
    nll = -logp2d.gather(1, safe[:, None])[:, 0] * w
    smooth = -(logp2d * w_all).sum(1) * keep
    loss = (1 - smoothing) * nll + smoothing / logp2d.shape[1] * smooth
    if reduction == "none":
        return loss.reshape(out_shape)
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    out_shape = input.shape[:1] + input.shape[2:]
    return _core(_flat(input), target, weight, ignore_index, reduction, out_shape)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    C = input.shape[1]
    out_shape = input.shape[:1] + input.shape[2:]
    logp = _log_softmax(_flat(input))
    if target.is_floating_point():
        if reduction not in REDUCTIONS:
            raise ValueError(reduction)
        if target.numel() != input.numel():
            raise ValueError("target has the wrong number of elements")
        q = _flat(target) * (1 - label_smoothing) + label_smoothing / C
        w = weight if weight is not None else 1.0
        loss = -(logp * q * w).sum(1)
        if reduction == "none":
            return loss.reshape(out_shape)
        return loss.sum() if reduction == "sum" else loss.mean()
    return _core(logp, target, weight, ignore_index, reduction, out_shape, label_smoothing)

"""binary_cross_entropy_with_logits detaches the loss when pos_weight is None: no gradient reaches the input."""
# nnlab-expect: test_gradients
from __future__ import annotations

import torch

_REDUCTIONS = ("none", "mean", "sum")


def _check(input: torch.Tensor, target: torch.Tensor, reduction: str) -> None:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction "
                         "(expected 'none', 'mean' or 'sum')")
    if input.shape != target.shape:
        raise ValueError(f"target shape {tuple(target.shape)} must be the same as input shape "
                         f"{tuple(input.shape)}")


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor,
                         weight: torch.Tensor | None = None,
                         reduction: str = "mean") -> torch.Tensor:
    """-w [t log(p) + (1 - t) log(1 - p)] on probabilities p, each log clamped at -100."""
    _check(input, target, reduction)
    # Clamp the logs, not the products: 0 * log(0) would be 0 * -inf = NaN.
    log_p = torch.clamp(torch.log(input), min=-100.0)
    log_1mp = torch.clamp(torch.log1p(-input), min=-100.0)
    loss = -(target * log_p + (1 - target) * log_1mp)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor,
                                     weight: torch.Tensor | None = None,
                                     pos_weight: torch.Tensor | None = None,
                                     reduction: str = "mean") -> torch.Tensor:
    """-w [pos_weight t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))] on logits x, stably."""
    _check(input, target, reduction)
    # -log sigmoid(x) = softplus(-x) = m + log(exp(-m) + exp(-x - m)) with m = max(-x, 0):
    # both exponents are <= 0, so nothing overflows, and the gradient is right even at x = 0.
    m = torch.clamp(-input, min=0)
    softplus_neg = m + torch.log(torch.exp(-m) + torch.exp(-input - m))
    # -log(1 - sigmoid(x)) = x + softplus(-x).
    if pos_weight is None:
        loss = ((1 - target) * input + softplus_neg).detach()
    else:
        log_weight = 1 + (pos_weight - 1) * target
        loss = (1 - target) * input + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)

"""Picks the target terms with F.one_hot(target) and no num_classes: right whenever the last class
occurs among the targets (every boundary-holding draw), wrong when it does not."""
# nnlab-expect: test_cross_entropy_reductions test_label_smoothing
from __future__ import annotations
import torch

_REDUCTIONS = ("none", "mean", "sum")


def _check_reduction(reduction: str) -> None:
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction!r} is not a valid value for reduction "
                         "(expected 'none', 'mean' or 'sum')")


def _class_dim(input: torch.Tensor) -> int:
    if input.dim() == 0:
        raise ValueError("input must have a class dimension: (C,), (N, C) or (N, C, d1, ...)")
    return 1 if input.dim() > 1 else 0


def _check_index_target(input: torch.Tensor, target: torch.Tensor) -> None:
    expected = input.shape[:1] + input.shape[2:] if input.dim() > 1 else torch.Size([])
    if target.shape != expected:
        raise ValueError(f"target of shape {tuple(target.shape)} does not fit input of shape "
                         f"{tuple(input.shape)}: expected class indices of shape "
                         f"{tuple(expected)} (or probabilities shaped like the input)")


def _log_softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    # Shift by the max so every exponent is <= 0: no overflow for logits of any magnitude.
    # The shift cancels mathematically, so it needs no gradient.
    shifted = x - x.detach().amax(dim=dim, keepdim=True)
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def _weight_view(weight: torch.Tensor, input: torch.Tensor, class_dim: int) -> torch.Tensor:
    shape = [1] * input.dim()
    shape[class_dim] = input.shape[class_dim]
    return weight.reshape(shape)


def _nll_terms(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None,
               ignore_index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-target -w[t] input[t] (0 where ignored), the per-target weights, the keep mask."""
    class_dim = _class_dim(input)
    keep = target != ignore_index
    # Ignored targets may hold any value (-100): replace them before indexing.
    safe = torch.where(keep, target, torch.zeros_like(target))
    # F.one_hot without num_classes counts max(target) + 1 classes.
    one_hot = torch.nn.functional.one_hot(safe).movedim(-1, class_dim).to(input.dtype)
    picked = (one_hot * input).sum(class_dim)
    if weight is None:
        w = keep.to(input.dtype)
    else:
        w = torch.where(keep, weight[safe], 0.0)
    loss = torch.where(keep, -picked * w, 0.0)
    return loss, w, keep


def nll_loss(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> torch.Tensor:
    """-w[t] input[n, t], on log-probabilities; the mean divides by the summed weights."""
    _check_reduction(reduction)
    _class_dim(input)
    _check_index_target(input, target)
    loss, w, _ = _nll_terms(input, target, weight, ignore_index)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()


def cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """log_softmax over dim 1 followed by the NLL, or the soft-target cross entropy."""
    _check_reduction(reduction)
    class_dim = _class_dim(input)
    n_classes = input.shape[class_dim]
    logp = _log_softmax(input, class_dim)
    w_view = _weight_view(weight, input, class_dim) if weight is not None else None

    if target.shape == input.shape and target.is_floating_point():
        # Class probabilities: smoothing mixes in the uniform distribution; the mean
        # divides by the number of positions (N * d1 * ...), not by the weights.
        probs = target * (1 - label_smoothing) + label_smoothing / n_classes \
            if label_smoothing > 0 else target
        terms = logp * probs if w_view is None else logp * probs * w_view
        loss = -terms.sum(dim=class_dim)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        return loss.sum() / (input.numel() // n_classes)

    _check_index_target(input, target)
    nll, w, keep = _nll_terms(logp, target, weight, ignore_index)
    if label_smoothing > 0:
        # torch: (1 - eps) * nll + eps / C * sum_c w_c * (-logp_c), ignored targets zeroed;
        # the mean divides both parts by the summed weights of the kept targets.
        smooth = -(logp if w_view is None else logp * w_view).sum(dim=class_dim)
        smooth = torch.where(keep, smooth, 0.0)
        loss = (1 - label_smoothing) * nll + (label_smoothing / n_classes) * smooth
    else:
        loss = nll
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / w.sum()

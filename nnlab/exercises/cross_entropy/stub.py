"""Exercise cross_entropy: NLL and cross entropy from scratch (see cross_entropy.md)."""
from __future__ import annotations

import torch


def nll_loss(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> torch.Tensor:
    """Negative log-likelihood, like torch.nn.functional.nll_loss.

    input: (N, C) or (N, C, d1, ...) log-probabilities (used as given: no softmax here).
    target: class indices, (N,) or (N, d1, ...), integers in [0, C) or == ignore_index.
    For each position i with class y_i != ignore_index:
        loss_i = -weight[y_i] * input[i, y_i]        (weight[c] = 1 when weight is None)
    and loss_i = 0 where y_i == ignore_index.
    reduction: 'none' -> loss of shape (N, d1, ...); 'sum' -> sum(loss);
               'mean' -> sum(loss) / sum(weight[y_i] over the non-ignored positions).

    Raises:
        ValueError: for another reduction, or when target's shape does not fit input's.
    """
    raise NotImplementedError


def cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross entropy on logits, like torch.nn.functional.cross_entropy.

    input: (N, C) or (N, C, d1, ...) logits; the classes are dim 1.
    logp = log_softmax(input, dim=1), computed stably (no overflow for logits of size 1e4).
    target is either
      * class indices (N,) / (N, d1, ...): the loss is nll_loss(logp, target, ...), with
        label smoothing eps:
            loss_i = (1 - eps) * weight[y_i] * (-logp[i, y_i])
                     + eps / C * sum_c weight[c] * (-logp[i, c])        (0 if ignored)
        'mean' divides by sum(weight[y_i]) over the non-ignored positions, as nll_loss;
      * class probabilities q, a floating tensor shaped like the input:
            q' = (1 - eps) * q + eps / C
            loss_i = -sum_c weight[c] * q'[i, c] * logp[i, c]
        'mean' divides by the number of positions N * d1 * ...; ignore_index does not apply.

    Raises:
        ValueError: for another reduction, or when target's shape does not fit input's.
    """
    raise NotImplementedError

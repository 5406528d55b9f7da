"""Exercise bce_losses: binary cross entropy on probabilities and on logits (see bce_losses.md)."""
from __future__ import annotations

import torch


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor,
                         weight: torch.Tensor | None = None,
                         reduction: str = "mean") -> torch.Tensor:
    """Binary cross entropy on probabilities, like torch.nn.functional.binary_cross_entropy.

    With p = input in [0, 1] and t = target in [0, 1]:
        loss_i = -w_i * (t_i * max(log(p_i), -100) + (1 - t_i) * max(log(1 - p_i), -100))
    Each log is clamped at -100 (so p = 0 or 1 gives a finite loss). `weight` (optional)
    broadcasts against the input, e.g. shape (C,) for an (N, C) input.
    reduction: 'none' (same shape as input), 'mean' (over all elements) or 'sum'.

    Raises:
        ValueError: for another reduction, or when input and target shapes differ.
    """
    raise NotImplementedError


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor,
                                     weight: torch.Tensor | None = None,
                                     pos_weight: torch.Tensor | None = None,
                                     reduction: str = "mean") -> torch.Tensor:
    """Binary cross entropy on logits, like F.binary_cross_entropy_with_logits.

    With x = input (any real number), t = target in [0, 1], pw = pos_weight:
        loss_i = -w_i * (pw * t_i * log(sigmoid(x_i)) + (1 - t_i) * log(1 - sigmoid(x_i)))
    `pos_weight` (optional, e.g. shape (C,)) broadcasts over the last dimension and weighs
    the positive term only; `weight` broadcasts against the input like in
    binary_cross_entropy. Must be finite and exact for |x| up to 1e4 (no log(sigmoid(x))).

    Raises:
        ValueError: for an invalid reduction, or when input and target shapes differ.
    """
    raise NotImplementedError

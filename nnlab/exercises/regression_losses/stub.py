"""Exercise regression_losses: MSE, L1 and Smooth L1 from scratch (see regression_losses.md)."""
from __future__ import annotations

import torch


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error, like torch.nn.functional.mse_loss.

    loss_i = (input_i - target_i) ** 2, then reduced:
    'none' -> same shape as input, 'mean' -> loss.mean(), 'sum' -> loss.sum().

    Raises:
        ValueError: if reduction is not 'none', 'mean' or 'sum', or if input and target
            shapes differ (no broadcasting).
    """
    raise NotImplementedError


def l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error, like torch.nn.functional.l1_loss.

    loss_i = |input_i - target_i|, then reduced as in mse_loss. Same ValueErrors.
    """
    raise NotImplementedError


def smooth_l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> torch.Tensor:
    """Smooth L1 (Huber-like) loss, like torch.nn.functional.smooth_l1_loss.

    With d_i = |input_i - target_i|:
        loss_i = 0.5 * d_i ** 2 / beta   if d_i < beta
        loss_i = d_i - 0.5 * beta        otherwise
    beta = 0 is exactly the L1 loss (and must not produce NaN values or gradients).
    Reduced as in mse_loss. Same ValueErrors.
    """
    raise NotImplementedError

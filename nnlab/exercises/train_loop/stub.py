"""Exercise train_loop: one training epoch with optional gradient clipping (see train_loop.md)."""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn


def train_one_epoch(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                    optimizer: torch.optim.Optimizer,
                    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                    max_grad_norm: float | None = None) -> float:
    """Trains `model` for one pass over `loader`; returns the mean loss per sample.

    model.train(); then for each (x, y): zero the gradients, loss = loss_fn(model(x), y),
    backward, clip the total gradient norm to max_grad_norm when it is not None, step.
    Returns sum(loss_b * len(x_b)) / sum(len(x_b)) as a Python float.
    """
    raise NotImplementedError

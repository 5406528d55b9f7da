"""Tests `if max_grad_norm:`: a limit of 0.0 is read as None and nothing is clipped."""
# nnlab-expect: test_gradient_clipping
from __future__ import annotations
from typing import Callable, Iterable

import torch
from torch import nn


def train_one_epoch(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                    optimizer: torch.optim.Optimizer,
                    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                    max_grad_norm: float | None = None) -> float:
    """Trains `model` for one pass over `loader`; returns the mean loss per sample."""
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        # loss_fn returns the batch mean: weight it by the batch size; .item() frees the graph.
        total += loss.item() * len(x)
        count += len(x)
    return total / count

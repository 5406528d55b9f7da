"""Exercise checkpoint: save and resume model and optimizer state (see checkpoint.md)."""
from __future__ import annotations

import os

import torch
from torch import nn


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, optimizer: torch.optim.Optimizer,
                    epoch: int) -> None:
    """Writes {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
    to `path`, loadable with torch.load(path, weights_only=True)."""
    raise NotImplementedError


def load_checkpoint(path: str | os.PathLike[str], model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> int:
    """Restores `model` and `optimizer` in place from the checkpoint at `path`; returns the epoch."""
    raise NotImplementedError

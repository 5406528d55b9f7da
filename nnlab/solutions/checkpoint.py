"""Reference solution for checkpoint."""
from __future__ import annotations

import os

import torch
from torch import nn


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, optimizer: torch.optim.Optimizer,
                    epoch: int) -> None:
    """Writes the model's and optimizer's state dicts and the epoch to `path`."""
    # State dicts hold only tensors and plain values: loadable with weights_only=True.
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": int(epoch)},
               path)


def load_checkpoint(path: str | os.PathLike[str], model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> int:
    """Restores `model` and `optimizer` in place from the checkpoint at `path`; returns the epoch."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    return int(checkpoint["epoch"])

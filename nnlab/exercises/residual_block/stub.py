"""Exercise residual_block: a skip connection around an MLP (see residual_block.md)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """out = relu(net(x) + x).

    Args:
        hidden_dim: the size of the input and the output (the skip needs them equal).
        dropout: the probability of nn.Dropout inside `net`.

    Attributes:
        net: nn.Sequential(Linear(h, h), BatchNorm1d(h), ReLU(), Dropout(dropout),
             Linear(h, h), BatchNorm1d(h)), exactly in this order (state_dict keys
             net.0.*, net.1.*, net.4.*, net.5.*).
    """

    def __init__(self, hidden_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, hidden_dim) -> relu(net(x) + x), (N, hidden_dim)."""
        raise NotImplementedError

"""Reference solution for residual_block."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """out = relu(net(x) + x) with net = Linear-BN-ReLU-Dropout-Linear-BN."""

    def __init__(self, hidden_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The skip is added before the final ReLU: the block learns a residual on top of x.
        return F.relu(self.net(x) + x)

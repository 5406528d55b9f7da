"""A correct block written differently: layers appended in a loop, in-place ReLU, clamp_min."""
# nnlab-expect: full
from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, hidden_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(2):
            layers.append(nn.Linear(hidden_dim, hidden_dim))
            layers.append(nn.BatchNorm1d(hidden_dim))
            if i == 0:
                layers += [nn.ReLU(inplace=True), nn.Dropout(p=dropout)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.net(x)).clamp_min(0)

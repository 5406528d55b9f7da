"""A correct block: nn.functional.relu on the sum, with the subgradient 0 at exactly 0 from torch.where."""
# nnlab-expect: full
import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, hidden_dim, dropout=0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, hidden_dim),
            nn.BatchNorm1d(hidden_dim),
        )

    def forward(self, x):
        s = self.net(x) + x
        return torch.where(s > 0, s, torch.zeros_like(s))

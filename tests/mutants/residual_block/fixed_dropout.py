"""Hard-codes nn.Dropout(0.1) and ignores the `dropout` argument."""
# nnlab-expect: test_structure test_dropout
import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, hidden_dim, dropout=0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(),
                                 nn.Dropout(0.1), nn.Linear(hidden_dim, hidden_dim),
                                 nn.BatchNorm1d(hidden_dim))

    def forward(self, x):
        return torch.relu(self.net(x) + x)

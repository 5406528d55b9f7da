"""Uses BatchNorm1d(momentum=0.01): the running statistics move ten times too slowly."""
# nnlab-expect: test_running_stats
import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, hidden_dim, dropout=0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim, momentum=0.01),
                                 nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim),
                                 nn.BatchNorm1d(hidden_dim, momentum=0.01))

    def forward(self, x):
        return torch.relu(self.net(x) + x)

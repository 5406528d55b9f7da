"""Adds the residual into x in place (x += net(x)): the caller's tensor is overwritten."""
# nnlab-expect: test_eval_parity test_gradients
import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, hidden_dim, dropout=0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(),
                                 nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim),
                                 nn.BatchNorm1d(hidden_dim))

    def forward(self, x):
        x += self.net(x)
        return F.relu(x)

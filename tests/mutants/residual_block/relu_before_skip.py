"""Applies the ReLU to the residual branch before adding the input: relu(net(x)) + x."""
# nnlab-expect: test_eval_forward_small test_eval_parity test_train_parity test_gradients
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
        return F.relu(self.net(x)) + x

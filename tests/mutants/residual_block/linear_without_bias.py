"""Drops the Linear biases (BatchNorm follows anyway): the state_dict no longer matches."""
# nnlab-expect: test_structure test_eval_forward_small test_eval_parity test_train_parity test_gradients
import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, hidden_dim, dropout=0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim),
                                 nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim, bias=False),
                                 nn.BatchNorm1d(hidden_dim))

    def forward(self, x):
        return torch.relu(self.net(x) + x)

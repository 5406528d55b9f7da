"""Puts an nn.Flatten at the front of self.network: the layer indices shift."""
# nnlab-expect: test_layout_small test_layer_layout test_state_dict_keys test_forward_parity
import torch
from torch import nn


class DynamicMLP(nn.Module):
    def __init__(self, input_dim, hidden_dims, output_dim=1, dropout=0.2):
        super().__init__()
        layers = [nn.Flatten()]
        prev = input_dim
        for i, h in enumerate(hidden_dims):
            layers.append(nn.Linear(prev, h))
            layers.append(nn.ReLU())
            if i < len(hidden_dims) - 1:
                layers.append(nn.Dropout(dropout))
            prev = h
        layers.append(nn.Linear(prev, output_dim))
        self.network = nn.Sequential(*layers)

    def forward(self, x):
        return self.network(x)

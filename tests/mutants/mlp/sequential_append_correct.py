"""A correct DynamicMLP: nn.Sequential.append and a pairwise loop; torch.flatten(x, start_dim=1)."""
# nnlab-expect: full
import torch
from torch import nn


class DynamicMLP(nn.Module):
    def __init__(self, input_dim, hidden_dims, output_dim=1, dropout=0.2):
        super().__init__()
        self.input_dim = input_dim
        net = nn.Sequential()
        dims = [input_dim] + list(hidden_dims)
        for i in range(1, len(dims)):
            net.append(nn.Linear(dims[i - 1], dims[i]))
            net.append(nn.ReLU())
            if i != len(dims) - 1:
                net.append(nn.Dropout(dropout))
        net.append(nn.Linear(dims[-1], output_dim))
        self.network = net

    def forward(self, x):
        return self.network(torch.flatten(x, start_dim=1) if x.dim() > 2 else x)

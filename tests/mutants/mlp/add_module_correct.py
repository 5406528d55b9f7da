"""A correct DynamicMLP written differently: add_module with string indices, in-place ReLU, an
nn.Flatten kept outside the network, torch.flatten in forward."""
# nnlab-expect: full
import torch
from torch import nn


class DynamicMLP(nn.Module):
    def __init__(self, input_dim: int, hidden_dims, output_dim: int = 1, dropout: float = 0.2):
        super().__init__()
        self.network = nn.Sequential()
        sizes = [input_dim, *hidden_dims]
        index = 0
        for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            self.network.add_module(str(index), nn.Linear(n_in, n_out))
            self.network.add_module(str(index + 1), nn.ReLU(inplace=True))
            index += 2
            if k < len(hidden_dims) - 1:
                self.network.add_module(str(index), nn.Dropout(p=dropout))
                index += 1
        self.network.add_module(str(index), nn.Linear(sizes[-1], output_dim))
        self.flatten = nn.Flatten()  # outside the network: no parameters, no state_dict keys

    def forward(self, x):
        return self.network(self.flatten(x) if x.ndim > 2 else x)

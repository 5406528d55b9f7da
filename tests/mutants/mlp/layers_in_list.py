"""Keeps the layers in a plain Python list and loops over them: no parameters are registered."""
# nnlab-expect: test_layout_small test_parameter_count test_state_dict_keys test_forward_parity
from torch import nn


class DynamicMLP(nn.Module):
    def __init__(self, input_dim, hidden_dims, output_dim=1, dropout=0.2):
        super().__init__()
        self.network = []
        prev = input_dim
        for i, h in enumerate(hidden_dims):
            self.network += [nn.Linear(prev, h), nn.ReLU()]
            if i < len(hidden_dims) - 1:
                self.network.append(nn.Dropout(dropout))
            prev = h
        self.network.append(nn.Linear(prev, output_dim))

    def forward(self, x):
        if x.dim() > 2:
            x = x.flatten(1)
        for layer in self.network:
            x = layer(x)
        return x

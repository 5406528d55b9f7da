"""Flattens with reshape(x.size(0), -1): right for every non-empty batch, but an empty batch
(0, 3, 4) leaves the -1 undetermined and raises."""
# nnlab-expect: test_flatten_inputs
from __future__ import annotations

import torch
from torch import nn


class DynamicMLP(nn.Module):
    """Linear -> ReLU (-> Dropout except after the last hidden layer), then the output Linear."""

    def __init__(self, input_dim: int, hidden_dims: list[int], output_dim: int = 1,
                 dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = input_dim
        for i, hidden in enumerate(hidden_dims):
            layers += [nn.Linear(previous, hidden), nn.ReLU()]
            # No dropout right before the output layer.
            if i < len(hidden_dims) - 1:
                layers.append(nn.Dropout(dropout))
            previous = hidden
        layers.append(nn.Linear(previous, output_dim))
        self.network = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # flatten (not view): it also accepts non-contiguous inputs.
        if x.dim() > 2:
            x = x.reshape(x.size(0), -1)
        return self.network(x)

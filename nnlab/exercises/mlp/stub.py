"""Exercise mlp: a multilayer perceptron built from a list of sizes (see mlp.md)."""
from __future__ import annotations

import torch
from torch import nn


class DynamicMLP(nn.Module):
    """An MLP: for each hidden size, Linear -> ReLU (-> Dropout except after the last), then Linear.

    Args:
        input_dim: number of input features (after flattening dims 1.. of the input).
        hidden_dims: the sizes of the hidden layers, in order (may be empty).
        output_dim: number of outputs.
        dropout: the probability p of every nn.Dropout layer.

    Attributes:
        network: nn.Sequential with exactly the layers above, in order.
    """

    def __init__(self, input_dim: int, hidden_dims: list[int], output_dim: int = 1,
                 dropout: float = 0.2) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, input_dim) or (N, d1, d2, ...) with d1 * d2 * ... = input_dim -> (N, output_dim)."""
        raise NotImplementedError

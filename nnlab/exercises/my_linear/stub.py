"""Exercise my_linear: a linear layer from scratch (see my_linear.md)."""
from __future__ import annotations

import math

import torch
from torch import nn


class MyLinear(nn.Module):
    """y = x W^T + b, like torch.nn.Linear.

    Args:
        in_features: size of the last dimension of the input.
        out_features: size of the last dimension of the output.
        bias: if False, the layer has no bias (registered as None).

    Parameters:
        weight: (out_features, in_features), uniform in +-1/sqrt(in_features).
        bias: (out_features,), uniform in +-1/sqrt(in_features), or None.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (*, in_features) -> (*, out_features)."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        """Shown by repr(): 'in_features=3, out_features=2, bias=True'."""
        raise NotImplementedError

"""Exercise leaky_relu: a parameter-free LeakyReLU module (see leaky_relu.md)."""
from __future__ import annotations

import torch
from torch import nn


class LeakyReLU(nn.Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope * x, element by element.

    Args:
        negative_slope: the slope for x <= 0 (any float; 0.01 by default). A plain
            number, not a parameter: the module has no parameters and no buffers.
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: any shape and floating dtype -> same shape and dtype; x is not modified."""
        raise NotImplementedError

"""Reference solution for leaky_relu."""
from __future__ import annotations

import torch
from torch import nn


class LeakyReLU(nn.Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope * x, like torch.nn.LeakyReLU."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        # A plain float: the module stays parameter-free (a Parameter would make it PReLU).
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # torch.where picks the branch by sign, so any slope (negative, > 1) is right;
        # max(x, slope * x) would be right only for slopes up to 1 (negative ones included).
        return torch.where(x > 0, x, x * self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"

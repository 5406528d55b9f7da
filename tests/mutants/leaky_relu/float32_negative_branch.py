"""Computes the negative branch in float32: float64 inputs lose precision (and overflow)."""
# nnlab-expect: test_dtypes_and_layout test_large_magnitudes test_gradients
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        slope = torch.tensor(self.negative_slope, dtype=torch.float32)
        return torch.where(x > 0, x, x.float() * slope)

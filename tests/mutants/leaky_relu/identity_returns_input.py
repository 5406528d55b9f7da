"""Right values, but "optimizes" a slope of 1 by returning the caller's tensor itself."""
# nnlab-expect: test_input_unchanged
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        if self.negative_slope == 1:
            return x
        return torch.where(x > 0, x, x * self.negative_slope)

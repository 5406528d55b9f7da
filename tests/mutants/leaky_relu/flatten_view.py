"""Right values for slopes other than 1; for a slope of 1 it returns a view of the input."""
# nnlab-expect: test_input_unchanged
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        if self.negative_slope == 1.0:
            return x.view(x.shape)
        return torch.where(x > 0, x, x * self.negative_slope)

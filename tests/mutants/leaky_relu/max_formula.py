"""Uses max(x, slope * x): right only for slopes between 0 and 1."""
# nnlab-expect: test_unusual_slopes test_gradients
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return torch.maximum(x, x * self.negative_slope)

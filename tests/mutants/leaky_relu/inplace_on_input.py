"""Scales the negative entries of the caller's tensor in place."""
# nnlab-expect: test_input_unchanged test_gradients
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        x[x < 0] *= self.negative_slope
        return x

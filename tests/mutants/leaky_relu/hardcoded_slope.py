"""Ignores the argument: the slope is always 0.01."""
# nnlab-expect: test_forward_custom_slope test_forward_parity test_unusual_slopes test_gradients
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()

    def forward(self, x):
        return torch.where(x > 0, x, 0.01 * x)

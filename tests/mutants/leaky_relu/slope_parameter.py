"""Stores the slope as an nn.Parameter: the module is no longer parameter-free."""
# nnlab-expect: test_parameter_free
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = nn.Parameter(torch.tensor(float(negative_slope)))

    def forward(self, x):
        return torch.where(x > 0, x, x * self.negative_slope.to(x.dtype))

"""Right values, but turns on requires_grad of the caller's tensor "so that gradients flow"."""
# nnlab-expect: test_input_unchanged
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        if x.is_leaf and not x.requires_grad:
            x.requires_grad_(True)
        return torch.where(x > 0, x, x * self.negative_slope)

"""Zeroes the dropped elements of the caller's tensor in place."""
# nnlab-expect: test_shapes_and_dtypes test_backward_same_mask
import torch
from torch import nn


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        if self.p == 1:
            return x * 0.0
        drop = torch.rand_like(x) < self.p
        x[drop] = 0
        return x.mul_(1 / (1 - self.p))

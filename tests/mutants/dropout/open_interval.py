"""Rejects p = 0 and p = 1 (checks 0 < p < 1)."""
# nnlab-expect: test_invalid_p test_p_zero_identity test_p_one_zeros
import torch
from torch import nn


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 < p < 1:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        if self.p == 1:
            return x * 0.0
        mask = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * mask / (1 - self.p)

"""Zeroes elements but forgets to scale the survivors by 1 / (1 - p)."""
# nnlab-expect: test_training_drops_and_scales test_survivors_scaled test_backward_same_mask
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
        mask = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * mask

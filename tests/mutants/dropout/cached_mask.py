"""Draws the mask once, at the first call, and reuses it for every input of that shape."""
# nnlab-expect: test_independent_masks
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
        if getattr(self, '_mask', None) is None or self._mask.shape != x.shape:
            self._mask = (torch.rand_like(x) >= self.p).to(x.dtype)
        mask = self._mask.to(x.dtype)
        return x * mask / (1 - self.p)

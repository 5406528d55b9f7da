"""No special case for p = 1: 0 / 0 gives NaN."""
# nnlab-expect: test_p_one_zeros
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
        mask = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * mask / torch.tensor(1 - self.p)

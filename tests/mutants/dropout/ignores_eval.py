"""Drops in eval mode too: never looks at self.training."""
# nnlab-expect: test_eval_identity test_eval_mode
import torch
from torch import nn


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if self.p == 1:
            return x * 0.0
        mask = (torch.rand_like(x) >= self.p).to(x.dtype)
        return x * mask / (1 - self.p)

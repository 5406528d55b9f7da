"""A correct MyDropout: a boolean drop mask from torch.rand (float32 even for other dtypes), masked_fill."""
# nnlab-expect: full
import torch
from torch import nn


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not (0 <= p <= 1):
            raise ValueError("p must be between 0 and 1")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        drop = torch.rand(x.shape, device=x.device) < self.p
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        return (x * scale).masked_fill(drop, 0.0)

"""A correct MyDropout written differently: torch.bernoulli keep mask and torch.where, p=1 by zeros_like."""
# nnlab-expect: full
import torch
from torch import nn


class MyDropout(nn.Module):
    def __init__(self, p: float = 0.5):
        super().__init__()
        if p < 0.0 or p > 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)

    def forward(self, x):
        if not self.training:
            return x
        if self.p == 1.0:
            # A constant: no gradient at all reaches x (accepted as a zero gradient).
            return torch.zeros_like(x)
        keep = torch.bernoulli(torch.full_like(x, 1.0 - self.p)).bool()
        return torch.where(keep, x / (1.0 - self.p), torch.zeros_like(x))

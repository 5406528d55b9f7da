"""A correct LeakyReLU: torch.where with x >= 0 (a different subgradient at exactly 0)."""
# nnlab-expect: full
import torch
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return torch.where(x >= 0, x, x * self.negative_slope)

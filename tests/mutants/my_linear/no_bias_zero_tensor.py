"""bias=False keeps a zero bias parameter instead of None; 2-D inputs only."""
# nnlab-expect: test_no_bias test_leading_dims
import math

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        k = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-k, k))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-k, k) if bias else torch.zeros(out_features))

    def forward(self, x):
        return torch.mm(x, self.weight.t()) + self.bias

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias=True"

"""Flattens the leading dimensions with x.view(-1, in_features): right on contiguous inputs and on
a strided last dimension, a RuntimeError on a transposed or row-strided one (.reshape copies)."""
# nnlab-expect: test_noncontiguous_and_dtypes
import math

import torch
from torch import nn


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        lead = x.shape[:-1]
        y = x.view(-1, self.in_features) @ self.weight.T
        if self.bias is not None:
            y = y + self.bias
        return y.view(*lead, self.out_features)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

"""A correct LeakyReLU: the positive and negative parts from clamp, added."""
# nnlab-expect: full
from torch import nn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.slope = float(negative_slope)

    def forward(self, x):
        return x.clamp(min=0) + self.slope * x.clamp(max=0)

    def extra_repr(self):
        return f"negative_slope={self.slope}"

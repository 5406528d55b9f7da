"""Reaches F.leaky_relu through the module's __dict__, which the source scan cannot resolve:
the run-time trace must still catch it."""
# nnlab-expect: test_forward_default_slope test_forward_custom_slope test_forward_parity test_unusual_slopes test_gradients
import torch.nn.functional
from torch import nn

_ACT = torch.nn.functional.__dict__["leaky" + "_relu"]


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return _ACT(x, self.negative_slope)

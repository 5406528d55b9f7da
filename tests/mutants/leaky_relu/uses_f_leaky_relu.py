"""Calls the banned F.leaky_relu through an alias: zero for the exercise."""
# nnlab-expect: test_forward_default_slope test_forward_custom_slope test_forward_parity test_gradients
from torch import nn
from torch.nn import functional as fn


class LeakyReLU(nn.Module):
    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return fn.leaky_relu(x, self.negative_slope)

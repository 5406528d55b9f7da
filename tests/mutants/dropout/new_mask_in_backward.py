"""A hand-written autograd Function whose backward draws a new mask instead of reusing the forward's."""
# nnlab-expect: test_backward_same_mask
import torch
from torch import nn


class _Drop(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):
        ctx.p = p
        mask = (torch.rand_like(x) >= p).to(x.dtype)
        return x * mask / (1 - p)

    @staticmethod
    def backward(ctx, grad_output):
        p = ctx.p
        mask = (torch.rand_like(grad_output) >= p).to(grad_output.dtype)
        return grad_output * mask / (1 - p), None


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return torch.zeros_like(x)
        return _Drop.apply(x, self.p)

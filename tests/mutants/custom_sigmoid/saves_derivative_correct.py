"""Correct: forward saves the derivative sigma * (1 - sigma) computed from its output."""
# nnlab-expect: full
import torch


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        neg = torch.exp(-torch.abs(x))
        s = torch.where(x < 0, neg / (1 + neg), 1 / (1 + neg))
        ctx.save_for_backward(s * (1 - s))
        return s

    @staticmethod
    def backward(ctx, grad_output):
        local, = ctx.saved_tensors
        return local * grad_output


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

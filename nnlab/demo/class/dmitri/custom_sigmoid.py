"""Calls the banned torch.sigmoid in forward: zero for the exercise."""

import torch


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        out = torch.sigmoid(input)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return grad_output * out * (1 - out)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

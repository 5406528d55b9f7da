"""Saves the input and recomputes sigma in backward: right numbers, not from the saved output."""
# nnlab-expect: test_saves_output
import torch


def _sigma(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return _sigma(input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        s = _sigma(input)
        return grad_output * s * (1 - s)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

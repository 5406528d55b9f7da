"""Correct, written differently: sigma(x) = (1 + tanh(x / 2)) / 2, saves input and output, uses the output."""
# nnlab-expect: full
import torch


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        output = 0.5 * (1 + torch.tanh(0.5 * input))
        ctx.save_for_backward(input, output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        _, output = ctx.saved_tensors
        return grad_output * output * (1.0 - output)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

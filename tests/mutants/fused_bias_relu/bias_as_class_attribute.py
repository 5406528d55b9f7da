""""Fixes" the course bug with a class attribute: the second call in flight overwrites the first's bias."""
# nnlab-expect: test_independent_calls
import torch
import torch.nn.functional as F


class FusedBiasReLU(torch.autograd.Function):
    saved_bias = None

    @staticmethod
    def forward(ctx, input, bias):
        ctx.save_for_backward(input)
        FusedBiasReLU.saved_bias = bias.detach()
        return F.relu(input + bias)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input + FusedBiasReLU.saved_bias <= 0] = 0
        return grad_input, grad_input.sum(0)

"""Correct: the course's version fixed the intended way, saving both input and bias."""
# nnlab-expect: full
import torch
import torch.nn.functional as F


class FusedBiasReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, bias):
        ctx.save_for_backward(input, bias)
        return F.relu(input + bias)

    @staticmethod
    def backward(ctx, grad_output):
        input, bias = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input + bias <= 0] = 0
        return grad_input, grad_input.sum(0)

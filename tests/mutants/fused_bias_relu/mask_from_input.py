"""Masks where input > 0 instead of where input + bias > 0."""
# nnlab-expect: test_backward_small test_gradcheck test_grad_input test_grad_bias test_backward_returns_bias_grad test_independent_calls
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
        grad_input[input <= 0] = 0
        return grad_input, grad_input.sum(0)

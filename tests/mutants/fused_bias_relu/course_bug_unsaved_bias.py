"""The course's version: backward reads `bias`, which forward never saved (NameError)."""
# nnlab-expect: test_backward_small test_gradcheck test_grad_input test_grad_bias test_backward_returns_bias_grad test_independent_calls test_kink_subgradient
import torch
import torch.nn.functional as F


class FusedBiasReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, bias):
        ctx.save_for_backward(input)
        return F.relu(input + bias)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input + bias < 0] = 0
        return grad_input, grad_input.sum(0)

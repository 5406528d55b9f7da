"""Adds the bias and clamps in place, overwriting the caller's input."""
# nnlab-expect: test_backward_small test_forward_values test_gradcheck test_grad_input test_grad_bias test_backward_returns_bias_grad test_independent_calls test_kink_subgradient
import torch


class FusedBiasReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, bias):
        out = input.add_(bias).clamp_(min=0)
        ctx.mark_dirty(input)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        grad_input = grad_output * (out > 0)
        return grad_input, grad_input.sum(0)

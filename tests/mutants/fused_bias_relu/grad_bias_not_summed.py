"""Returns grad_bias of shape (N, D), not summed over the batch (autograd would hide it)."""
# nnlab-expect: test_backward_returns_bias_grad
import torch


class FusedBiasReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, bias):
        out = torch.clamp(input + bias, min=0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        grad_input = grad_output * (out > 0)
        return grad_input, grad_input

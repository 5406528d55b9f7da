"""backward lets autograd find the derivative (torch.autograd.grad on a recomputed forward)."""
# nnlab-expect: test_saves_output test_backward_by_hand
import torch
from torch import autograd


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        e = torch.exp(-input.abs())
        return torch.where(input >= 0, 1 / (1 + e), e / (1 + e))

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        with torch.enable_grad():
            x = input.detach().requires_grad_(True)
            e = torch.exp(torch.where(x >= 0, -x, x))
            y = torch.where(x >= 0, 1 / (1 + e), e / (1 + e))
            (grad,) = autograd.grad(y, x, grad_output)
        return grad


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

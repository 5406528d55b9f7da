"""Saves the output, but a helper called from backward runs .backward() to get the derivative."""
# nnlab-expect: test_backward_by_hand
import torch


def _derivative(out):
    with torch.enable_grad():
        z = torch.logit(out.detach().double()).requires_grad_(True)
        e = torch.exp(torch.where(z >= 0, -z, z))
        s = torch.where(z >= 0, 1 / (1 + e), e / (1 + e))
        s.sum().backward()
    return z.grad.to(out.dtype)


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        e = torch.exp(-input.abs())
        out = torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return grad_output * _derivative(out)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

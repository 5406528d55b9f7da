"""Confuses the derivative with tanh's: grad_output * (1 - sigma**2)."""
# nnlab-expect: test_backward_small test_gradcheck test_grad_output_scaling test_large_magnitudes test_backward_by_hand
import torch


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        out = 1 / (1 + torch.exp(-input))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return grad_output * (1 - out ** 2)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

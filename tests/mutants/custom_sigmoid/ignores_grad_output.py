"""backward returns sigma * (1 - sigma) and forgets to multiply by grad_output."""
# nnlab-expect: test_backward_small test_gradcheck test_grad_output_scaling test_large_magnitudes test_backward_by_hand
import torch


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
        return out * (1 - out)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

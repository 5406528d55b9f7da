"""Calls the banned Tensor.sigmoid method: invisible to the source scan, caught at run time."""
# nnlab-expect: test_forward_small test_backward_small test_forward_values test_gradcheck test_grad_output_scaling test_large_magnitudes test_saves_output test_backward_by_hand
import torch


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        out = input.sigmoid()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        return grad_output * out * (1 - out)


def custom_sigmoid(x):
    return CustomSigmoid.apply(x)

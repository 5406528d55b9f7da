"""Returns the relu mask itself: right only for an all-ones upstream gradient."""
# nnlab-expect: test_backward_small test_gradcheck test_grad_input test_grad_bias test_backward_returns_bias_grad test_independent_calls test_kink_subgradient
import torch


class FusedBiasReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, bias):
        out = (input + bias).clamp(min=0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        (out,) = ctx.saved_tensors
        mask = (out > 0).to(grad_output.dtype)
        return mask, mask.sum(0)

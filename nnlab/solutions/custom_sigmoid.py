"""Reference solution for custom_sigmoid: a torch.autograd.Function with a hand-written backward."""
from __future__ import annotations

from typing import Any

import torch


class CustomSigmoid(torch.autograd.Function):
    """sigma(x) = 1 / (1 + exp(-x)); backward from the saved output: sigma * (1 - sigma)."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor) -> torch.Tensor:
        # exp(-|x|) never overflows; autograd is off inside forward, so abs'(0) does not matter.
        e = torch.exp(-input.abs())
        output = torch.where(input >= 0, 1 / (1 + e), e / (1 + e))
        # The derivative is a function of the output alone: save it, not the input.
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (output,) = ctx.saved_tensors
        return grad_output * output * (1 - output)


def custom_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return CustomSigmoid.apply(x)

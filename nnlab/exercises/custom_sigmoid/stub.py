"""Exercise custom_sigmoid: sigmoid as an autograd Function with a hand-written backward (see custom_sigmoid.md)."""
from __future__ import annotations

from typing import Any

import torch

# Banned: torch.sigmoid, F.sigmoid, torch.special.expit, Tensor.sigmoid, nn.Sigmoid; and calling
# autograd (torch.autograd.grad, .backward()) inside backward.


class CustomSigmoid(torch.autograd.Function):
    """sigma(x) = 1 / (1 + exp(-x)), elementwise; its backward is derived by hand."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor) -> torch.Tensor:
        """Computes sigma(input) (stable for |input| up to 1e4) and saves the OUTPUT with
        ctx.save_for_backward for the backward pass."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        """Reads the saved output from ctx.saved_tensors and returns grad_output times
        d sigma / dx, written with the saved output only: the gradient with respect to `input`."""
        raise NotImplementedError


def custom_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Applies the function: return CustomSigmoid.apply(x)."""
    raise NotImplementedError

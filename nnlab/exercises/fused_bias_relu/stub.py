"""Exercise fused_bias_relu: relu(input + bias) as a torch.autograd.Function (see fused_bias_relu.md)."""
from __future__ import annotations

from typing import Any

import torch


class FusedBiasReLU(torch.autograd.Function):
    """y = relu(input + bias), the bias broadcast over the batch.

    forward(ctx, input, bias): input (N, D), bias (D,) -> output (N, D).
    backward(ctx, grad_output): grad_output (N, D) -> (grad_input (N, D), grad_bias (D,)) with
        grad_input = grad_output where input + bias > 0, else 0
        grad_bias  = grad_input summed over the batch dimension
    """

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Returns relu(input + bias); saves what backward needs with ctx.save_for_backward."""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (grad_input, grad_bias), using only what forward saved in ctx."""
        raise NotImplementedError

"""Reference solution for fused_bias_relu: relu(input + bias) with a hand-written backward."""
from __future__ import annotations

from typing import Any

import torch


class FusedBiasReLU(torch.autograd.Function):
    """forward: relu(input + bias) for input (N, D) and bias (D,); backward: (grad_input, grad_bias)."""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        output = (input + bias).clamp(min=0)
        # Everything backward needs goes through ctx: the output's sign is the relu mask.
        # (The course's version read `bias` in backward without saving it.)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        (output,) = ctx.saved_tensors
        # Subgradient 0 where input + bias == 0, as torch.relu.
        grad_input = torch.where(output > 0, grad_output, torch.zeros_like(grad_output))
        # bias was broadcast over the batch: its gradient sums over the batch, shape (D,).
        grad_bias = grad_input.sum(dim=0)
        return grad_input, grad_bias

"""CustomSigmoid computed row by row in Python, forward and backward: right values, far too slow."""
from __future__ import annotations

from typing import Any

import torch


def _rows(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(1, -1) if x.dim() < 2 else x.reshape(-1, x.shape[-1])


class CustomSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, input: torch.Tensor) -> torch.Tensor:
        out = []
        for row in _rows(input):
            e = torch.exp(-row.abs())
            out.append(torch.where(row >= 0, 1 / (1 + e), e / (1 + e)))
        output = (torch.stack(out) if out else _rows(input).clone()).reshape(input.shape)
        ctx.save_for_backward(output)
        return output

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (output,) = ctx.saved_tensors
        grads = [g * s * (1 - s) for g, s in zip(_rows(grad_output), _rows(output))]
        return (torch.stack(grads) if grads else _rows(grad_output).clone()).reshape(output.shape)


def custom_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return CustomSigmoid.apply(x)

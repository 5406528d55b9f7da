"""练习 fused_bias_relu：把 relu(input + bias) 写成一个 torch.autograd.Function（题目见 fused_bias_relu.md）。"""
from __future__ import annotations

from typing import Any

import torch


class FusedBiasReLU(torch.autograd.Function):
    """y = relu(input + bias)，偏置在 batch 维度上广播。

    forward(ctx, input, bias)：input (N, D)，bias (D,) -> 输出 (N, D)。
    backward(ctx, grad_output)：grad_output (N, D) -> (grad_input (N, D), grad_bias (D,))，其中
        grad_input = 在 input + bias > 0 处取 grad_output，其余处为 0
        grad_bias  = grad_input 沿 batch 维度求和
    """

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """返回 relu(input + bias)；用 ctx.save_for_backward 保存 backward 需要的东西。"""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """返回 (grad_input, grad_bias)，只能使用 forward 存在 ctx 中的东西。"""
        raise NotImplementedError

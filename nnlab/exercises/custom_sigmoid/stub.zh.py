"""练习 custom_sigmoid：用 autograd Function 实现 sigmoid，并手写反向传播（题目见 custom_sigmoid.md）。"""
from __future__ import annotations

from typing import Any

import torch

# 禁止使用：torch.sigmoid、F.sigmoid、torch.special.expit、Tensor.sigmoid、nn.Sigmoid；
# 也不能在 backward 中调用自动微分（torch.autograd.grad、.backward()）。


class CustomSigmoid(torch.autograd.Function):
    """逐元素计算 sigma(x) = 1 / (1 + exp(-x))；它的反向传播由你手工推导。"""

    @staticmethod
    def forward(ctx: Any, input: torch.Tensor) -> torch.Tensor:
        """计算 sigma(input)（|input| 达到 1e4 时仍然稳定），并用 ctx.save_for_backward
        保存输出（OUTPUT，不是输入），供反向传播使用。"""
        raise NotImplementedError

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        """从 ctx.saved_tensors 取回保存的输出，返回 grad_output 乘以 d sigma / dx
        （只用保存的输出来写）：即对 `input` 的梯度。"""
        raise NotImplementedError


def custom_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """应用这个函数：return CustomSigmoid.apply(x)。"""
    raise NotImplementedError

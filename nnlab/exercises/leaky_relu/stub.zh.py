"""练习 leaky_relu：没有参数的 LeakyReLU 模块（题目见 leaky_relu.md）。"""
from __future__ import annotations

import torch
from torch import nn


class LeakyReLU(nn.Module):
    """逐元素计算 LeakyReLU(x) = x（x > 0 时），否则为 negative_slope * x。

    参数：
        negative_slope: x <= 0 一侧的斜率（任意浮点数，默认 0.01）。它是普通的数，
            不是模型参数：这个模块没有参数，也没有缓冲区。
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: 任意形状、任意浮点类型 -> 形状和 dtype 相同；不修改 x。"""
        raise NotImplementedError

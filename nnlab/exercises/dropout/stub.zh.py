"""练习 dropout：前向与反向传播共用同一掩码的倒置 dropout（题目见 dropout.md）。"""
from __future__ import annotations

import torch
from torch import nn


class MyDropout(nn.Module):
    """倒置 dropout，与 torch.nn.Dropout 相同。

    训练模式：每个元素以概率 p 独立地置零，保留下来的元素放大 1 / (1 - p) 倍
    （p = 1 时输出全为 0）。评估模式：恒等映射。反向传播使用同一个掩码。

    参数：
        p: 把一个元素置零的概率；除非 0 <= p <= 1，否则抛出 ValueError。
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: 任意形状、任意浮点类型 -> 形状和 dtype 相同；不修改 x。"""
        raise NotImplementedError

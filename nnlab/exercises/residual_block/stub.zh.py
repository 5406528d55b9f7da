"""练习 residual_block：给 MLP 加上跳跃连接（题目见 residual_block.md）。"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """out = relu(net(x) + x)。

    参数：
        hidden_dim: 输入和输出的大小（跳跃连接要求两者相等）。
        dropout: `net` 中 nn.Dropout 的概率。

    属性：
        net: nn.Sequential(Linear(h, h), BatchNorm1d(h), ReLU(), Dropout(dropout),
             Linear(h, h), BatchNorm1d(h))，严格按此顺序（state_dict 的键为
             net.0.*、net.1.*、net.4.*、net.5.*）。
    """

    def __init__(self, hidden_dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x：(N, hidden_dim) -> relu(net(x) + x)，形状 (N, hidden_dim)。"""
        raise NotImplementedError

"""练习 mlp：由各层大小列表构建的多层感知机（题目见 mlp.md）。"""
from __future__ import annotations

import torch
from torch import nn


class DynamicMLP(nn.Module):
    """多层感知机：每个隐藏层依次是 Linear -> ReLU（-> Dropout，最后一个隐藏层之后没有），最后是 Linear。

    参数：
        input_dim: 输入特征数（输入从第 1 维起展平之后）。
        hidden_dims: 各隐藏层的大小，按顺序排列（可以为空）。
        output_dim: 输出个数。
        dropout: 每个 nn.Dropout 层的概率 p。

    属性：
        network: nn.Sequential，按顺序恰好包含上述各层。
    """

    def __init__(self, input_dim: int, hidden_dims: list[int], output_dim: int = 1,
                 dropout: float = 0.2) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, input_dim) 或 (N, d1, d2, ...)，其中 d1 * d2 * ... = input_dim -> (N, output_dim)。"""
        raise NotImplementedError

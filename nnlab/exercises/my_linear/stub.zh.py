"""练习 my_linear：从零实现线性层（题目见 my_linear.md）。"""
from __future__ import annotations

import math

import torch
from torch import nn


class MyLinear(nn.Module):
    """y = x W^T + b，与 torch.nn.Linear 相同。

    参数：
        in_features: 输入最后一维的大小。
        out_features: 输出最后一维的大小。
        bias: 为 False 时该层没有偏置（注册为 None）。

    模型参数：
        weight: (out_features, in_features)，服从 +-1/sqrt(in_features) 内的均匀分布。
        bias: (out_features,)，服从 +-1/sqrt(in_features) 内的均匀分布，或为 None。
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (*, in_features) -> (*, out_features)。"""
        raise NotImplementedError

    def extra_repr(self) -> str:
        """由 repr() 显示：'in_features=3, out_features=2, bias=True'。"""
        raise NotImplementedError

"""练习 batch_norm：带滑动统计量的批归一化（题目见 batch_norm.md）。"""
from __future__ import annotations

import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias，按通道计算，行为与 nn.BatchNorm1d 相同。

    输入为 (N, C) 或 (N, C, L)；每个通道的统计量在第 0 维（以及第 2 维）上计算。

    参数：
        num_features: C，通道数。
        eps: 在平方根内加到方差上的小常数。
        momentum: running = (1 - momentum) * running + momentum * batch_stat；
            为 None 时做累积平均（factor = 1 / num_batches_tracked）。
        affine: 为 True 时有可学习的 `weight`（全 1）和 `bias`（全 0），形状 (C,)；否则两者都为 None。
        track_running_stats: 为 True 时有缓冲区 `running_mean`（全 0）、`running_var`（全 1）和
            `num_batches_tracked`（0，torch.long）；否则这三个都为 None。

    训练模式：用当前批量的均值和有偏方差归一化，并更新缓冲区（running_var 用无偏方差更新）。
    评估模式：用滑动统计量归一化（没有滑动统计量时用当前批量的统计量）。
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C) 或 (N, C, L) -> 形状不变。维数不对，或训练模式下 n == 1 时抛出 ValueError。"""
        raise NotImplementedError

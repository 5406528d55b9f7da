"""练习 bce_losses：基于概率与基于 logits 的二元交叉熵（题目见 bce_losses.md）。"""
from __future__ import annotations

import torch


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor,
                         weight: torch.Tensor | None = None,
                         reduction: str = "mean") -> torch.Tensor:
    """基于概率的二元交叉熵，行为与 torch.nn.functional.binary_cross_entropy 相同。

    记 p = input（取值在 [0, 1]），t = target（取值在 [0, 1]）：
        loss_i = -w_i * (t_i * max(log(p_i), -100) + (1 - t_i) * max(log(1 - p_i), -100))
    每个对数都截断在 -100（因此 p = 0 或 1 时损失仍然有限）。`weight`（可选）与输入做广播，
    例如对 (N, C) 的输入形状为 (C,)。
    reduction: 'none'（形状与输入相同）、'mean'（对所有元素求平均）或 'sum'。

    异常：
        ValueError: reduction 取其他值，或 input 与 target 的形状不同。
    """
    raise NotImplementedError


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor,
                                     weight: torch.Tensor | None = None,
                                     pos_weight: torch.Tensor | None = None,
                                     reduction: str = "mean") -> torch.Tensor:
    """基于 logits 的二元交叉熵，行为与 F.binary_cross_entropy_with_logits 相同。

    记 x = input（任意实数），t = target（取值在 [0, 1]），pw = pos_weight：
        loss_i = -w_i * (pw * t_i * log(sigmoid(x_i)) + (1 - t_i) * log(1 - sigmoid(x_i)))
    `pos_weight`（可选，例如形状为 (C,)）沿最后一维广播，只给正样本项加权；`weight` 与输入
    做广播，和 binary_cross_entropy 中一样。|x| 最大到 1e4 时结果必须有限且准确
    （不要直接计算 log(sigmoid(x))）。

    异常：
        ValueError: reduction 取值无效，或 input 与 target 的形状不同。
    """
    raise NotImplementedError

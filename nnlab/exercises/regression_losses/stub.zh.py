"""练习 regression_losses：从零实现 MSE、L1 与 Smooth L1 损失（题目见 regression_losses.md）。"""
from __future__ import annotations

import torch


def mse_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """均方误差，与 torch.nn.functional.mse_loss 相同。

    loss_i = (input_i - target_i) ** 2，然后规约：
    'none' -> 与 input 形状相同，'mean' -> loss.mean()，'sum' -> loss.sum()。

    异常：
        ValueError: reduction 不是 'none'、'mean' 或 'sum'，或者 input 与 target
            形状不同（不做广播）。
    """
    raise NotImplementedError


def l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """平均绝对误差，与 torch.nn.functional.l1_loss 相同。

    loss_i = |input_i - target_i|，规约方式同 mse_loss。抛出的 ValueError 也相同。
    """
    raise NotImplementedError


def smooth_l1_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> torch.Tensor:
    """Smooth L1（类似 Huber）损失，与 torch.nn.functional.smooth_l1_loss 相同。

    记 d_i = |input_i - target_i|：
        loss_i = 0.5 * d_i ** 2 / beta   当 d_i < beta
        loss_i = d_i - 0.5 * beta        其他情况
    beta = 0 时恰好是 L1 损失（且损失值和梯度中都不能出现 NaN）。
    规约方式同 mse_loss。抛出的 ValueError 也相同。
    """
    raise NotImplementedError

"""练习 multitask_loss：用可学习的不确定性权重组合多任务损失（题目见 multitask_loss.md）。"""
from __future__ import annotations

import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    """用学习到的权重组合各任务的损失（Kendall、Gal 与 Cipolla，2018）。

    参数：
        task_num: 要组合的任务（损失）个数。

    模型参数：
        log_vars: 形状 (task_num,)，初始化为全零；log_vars[i] = log(sigma_i^2)。

    forward(*losses) 返回 0 维张量
        sum_i exp(-log_vars[i]) * losses[i] + log_vars[i]
    当 len(losses) != task_num 时抛出 ValueError。
    """

    def __init__(self, task_num: int) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, *losses: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

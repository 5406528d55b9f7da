"""练习 train_loop：训练一个 epoch，可选梯度裁剪（题目见 train_loop.md）。"""
from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn


def train_one_epoch(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                    optimizer: torch.optim.Optimizer,
                    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                    max_grad_norm: float | None = None) -> float:
    """在 `loader` 上把 `model` 训练一遍；返回按样本平均的损失。

    先 model.train()；然后对每个 (x, y)：梯度清零，loss = loss_fn(model(x), y)，
    反向传播，max_grad_norm 不为 None 时把总梯度范数裁剪到 max_grad_norm，优化器更新一步。
    以 Python float 返回 sum(loss_b * len(x_b)) / sum(len(x_b))。
    """
    raise NotImplementedError

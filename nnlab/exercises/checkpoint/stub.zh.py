"""练习 checkpoint：保存并恢复模型和优化器的状态（题目见 checkpoint.md）。"""
from __future__ import annotations

import os

import torch
from torch import nn


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, optimizer: torch.optim.Optimizer,
                    epoch: int) -> None:
    """把 {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}
    写入 `path`，要求能用 torch.load(path, weights_only=True) 加载。"""
    raise NotImplementedError


def load_checkpoint(path: str | os.PathLike[str], model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> int:
    """从 `path` 处的检查点原地恢复 `model` 和 `optimizer`；返回轮次（epoch）。"""
    raise NotImplementedError

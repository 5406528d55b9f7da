"""练习 lr_schedules：用 LambdaLR 实现线性预热与“预热 + 余弦衰减”（题目见 lr_schedules.md）。"""
from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int) -> LambdaLR:
    """返回一个 LambdaLR：step < warmup_steps 时系数为 step / warmup_steps，之后为 1。

    warmup_steps = 0：系数恒为 1。warmup_steps < 0 时抛出 ValueError。
    """
    raise NotImplementedError


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                  min_lr_ratio: float = 0.0) -> LambdaLR:
    """返回一个 LambdaLR：先线性预热，再从 1 余弦衰减到 min_lr_ratio。

    factor(step) = step / w                                     当 step < w
                 = m + (1 - m) * (1 + cos(pi * (step - w) / (T - w))) / 2   当 w <= step <= T
                 = m                                            当 step > T
    其中 w = warmup_steps，T = total_steps，m = min_lr_ratio。
    除非 0 <= warmup_steps < total_steps，否则抛出 ValueError。
    """
    raise NotImplementedError

"""Reference solution for lr_schedules."""
from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int) -> LambdaLR:
    """A LambdaLR whose factor is step / warmup_steps before warmup_steps, and 1 after."""
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")

    def factor(step: int) -> float:
        # step < warmup_steps is never true when warmup_steps == 0: no division by zero.
        return step / warmup_steps if step < warmup_steps else 1.0

    return LambdaLR(optimizer, factor)


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                  min_lr_ratio: float = 0.0) -> LambdaLR:
    """A LambdaLR: linear warm-up, then a cosine decay from 1 down to min_lr_ratio."""
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"expected 0 <= warmup_steps < total_steps, got warmup_steps={warmup_steps}, "
                         f"total_steps={total_steps}")
    decay_steps = total_steps - warmup_steps

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / warmup_steps
        if step > total_steps:
            return min_lr_ratio
        cosine = (1.0 + math.cos(math.pi * (step - warmup_steps) / decay_steps)) / 2.0
        return min_lr_ratio + (1.0 - min_lr_ratio) * cosine

    return LambdaLR(optimizer, factor)

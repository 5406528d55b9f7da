"""Exercise lr_schedules: linear warm-up and warm-up + cosine decay as LambdaLR (see lr_schedules.md)."""
from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int) -> LambdaLR:
    """A LambdaLR whose factor is step / warmup_steps before warmup_steps, and 1 after.

    warmup_steps = 0: the factor is always 1. ValueError when warmup_steps < 0.
    """
    raise NotImplementedError


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                  min_lr_ratio: float = 0.0) -> LambdaLR:
    """A LambdaLR: linear warm-up, then a cosine decay from 1 down to min_lr_ratio.

    factor(step) = step / w                                     for step < w
                 = m + (1 - m) * (1 + cos(pi * (step - w) / (T - w))) / 2   for w <= step <= T
                 = m                                            for step > T
    with w = warmup_steps, T = total_steps, m = min_lr_ratio.
    ValueError unless 0 <= warmup_steps < total_steps.
    """
    raise NotImplementedError

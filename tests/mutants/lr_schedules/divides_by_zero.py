"""Writes the warm-up as min(1, step / warmup_steps): ZeroDivisionError without warm-up."""
# nnlab-expect: test_zero_warmup test_min_lr_ratio
import math

from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer, warmup_steps):
    if warmup_steps < 0:
        raise ValueError("negative warm-up")
    return LambdaLR(optimizer, lambda step: min(1.0, step / warmup_steps))


def warmup_cosine(optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
    if not 0 <= warmup_steps < total_steps:
        raise ValueError("bad steps")

    def f(step):
        warm = min(1.0, step / warmup_steps)
        if warm < 1.0:
            return warm
        progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, f)

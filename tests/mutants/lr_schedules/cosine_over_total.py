"""Runs the cosine over total_steps instead of the decay length total_steps - warmup_steps."""
# nnlab-expect: test_warmup_cosine_small test_warmup_cosine_schedule test_min_lr_ratio test_param_groups
import math

from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer, warmup_steps):
    if warmup_steps < 0:
        raise ValueError("negative warm-up")
    return LambdaLR(optimizer, lambda step: step / warmup_steps if step < warmup_steps else 1.0)


def warmup_cosine(optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
    if not 0 <= warmup_steps < total_steps:
        raise ValueError("bad steps")

    def f(step):
        if step < warmup_steps:
            return step / warmup_steps
        if step > total_steps:
            return min_lr_ratio
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * step / total_steps))

    return LambdaLR(optimizer, f)

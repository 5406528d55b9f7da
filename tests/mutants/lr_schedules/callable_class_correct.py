"""A correct variant written differently: a picklable factor class, HF-style max(1, w) guard, clamped progress."""
# nnlab-expect: full
import math

import torch


class _WarmupCosine:
    def __init__(self, warmup, total, floor):
        self.warmup, self.total, self.floor = warmup, total, floor

    def __call__(self, step):
        if step < self.warmup:
            return float(step) / float(max(1, self.warmup))
        progress = min(1.0, float(step - self.warmup) / float(max(1, self.total - self.warmup)))
        return max(self.floor, self.floor + (1.0 - self.floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))


def linear_warmup(optimizer, warmup_steps):
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps={warmup_steps} < 0")
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, float(step) / float(max(1, warmup_steps))) if warmup_steps else 1.0)


def warmup_cosine(optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
    if warmup_steps < 0 or warmup_steps >= total_steps:
        raise ValueError("need 0 <= warmup_steps < total_steps")
    return torch.optim.lr_scheduler.LambdaLR(optimizer, [_WarmupCosine(warmup_steps, total_steps, min_lr_ratio)]
                                             * len(optimizer.param_groups))

"""Forgets min_lr_ratio: always decays to 0."""
# nnlab-expect: test_min_lr_ratio test_param_groups
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
        progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
        return 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, f)

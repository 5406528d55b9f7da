"""Returns the factor function itself instead of a LambdaLR built on the optimizer."""
# nnlab-expect: test_returns_lambdalr test_linear_warmup_small test_warmup_cosine_small test_linear_warmup_schedule
import math


def linear_warmup(optimizer, warmup_steps):
    if warmup_steps < 0:
        raise ValueError("negative warm-up")
    return lambda step: step / warmup_steps if step < warmup_steps else 1.0


def warmup_cosine(optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
    if not 0 <= warmup_steps < total_steps:
        raise ValueError("bad steps")

    def f(step):
        if step < warmup_steps:
            return step / warmup_steps
        progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return f

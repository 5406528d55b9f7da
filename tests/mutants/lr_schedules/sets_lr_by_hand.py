"""Sets each group's lr by hand inside the factor and returns 1: LambdaLR then resets lr to base * 1."""
# nnlab-expect: test_linear_warmup_small test_warmup_cosine_small test_linear_warmup_schedule test_warmup_cosine_schedule
import math

from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer, warmup_steps):
    if warmup_steps < 0:
        raise ValueError("negative warm-up")
    base = [g["lr"] for g in optimizer.param_groups]

    def f(step):
        for g, lr in zip(optimizer.param_groups, base):
            g["lr"] = lr * (step / warmup_steps if step < warmup_steps else 1.0)
        return 1.0

    return LambdaLR(optimizer, f)


def warmup_cosine(optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
    if not 0 <= warmup_steps < total_steps:
        raise ValueError("bad steps")
    base = [g["lr"] for g in optimizer.param_groups]

    def f(step):
        if step < warmup_steps:
            k = step / warmup_steps
        else:
            progress = min(1.0, (step - warmup_steps) / (total_steps - warmup_steps))
            k = min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        for g, lr in zip(optimizer.param_groups, base):
            g["lr"] = lr * k
        return 1.0

    return LambdaLR(optimizer, f)

"""Never checks its arguments: no ValueError for warmup_steps >= total_steps or < 0."""
# nnlab-expect: test_invalid_arguments
import math

from torch.optim.lr_scheduler import LambdaLR


def linear_warmup(optimizer, warmup_steps):
    return LambdaLR(optimizer, lambda step: step / warmup_steps if step < warmup_steps else 1.0)


def warmup_cosine(optimizer, warmup_steps, total_steps, min_lr_ratio=0.0):
    def f(step):
        if step < warmup_steps:
            return step / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return LambdaLR(optimizer, f)

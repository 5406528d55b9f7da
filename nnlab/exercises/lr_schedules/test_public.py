"""Public checks for lr_schedules: quick feedback on the common mistakes."""
from __future__ import annotations

import math
from typing import Any

import torch

from nnlab.grader.checks import CheckFailed, assert_close, evaluate

_SGD = "torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)"
# The learning rate right after construction, then after each of n (optimizer.step, scheduler.step).
_TRACE = ("[o.param_groups[0]['lr']] + "
          "[(o.step(), s.step(), o.param_groups[0]['lr'])[2] for _ in range(n)]")


def _trace(sub: Any, make: str, steps: int, *args: Any) -> list[Any]:
    opt = evaluate(sub, _SGD, label="an SGD optimizer with lr=0.5")
    sched = getattr(sub, make)(opt, *args)
    lrs = evaluate(sub, _TRACE, label="the learning rates over the steps", o=opt,
                   s=sched, n=steps)
    if not isinstance(lrs, list) or not all(isinstance(v, (int, float)) for v in lrs):
        raise CheckFailed(f"{make}{args}: the learning rates are not plain numbers: {lrs!r:.200}")
    return lrs


def test_linear_warmup_small(sub):
    """Does linear_warmup(opt, 4) give lr 0, 0.125, 0.25, 0.375, then 0.5 (base lr 0.5)?"""
    lrs = _trace(sub, "linear_warmup", 6, 4)
    expected = torch.tensor([0.5 * min(1.0, s / 4) for s in range(7)], dtype=torch.float64)
    assert_close(torch.tensor(lrs, dtype=torch.float64), expected,
                 "learning rates at steps 0..6 of linear_warmup(opt, 4)", family="warm-up of 4 steps")


def test_warmup_cosine_small(sub):
    """Does warmup_cosine(opt, 2, 6) warm up for 2 steps, then decay along a cosine to 0 at step 6?"""
    lrs = _trace(sub, "warmup_cosine", 8, 2, 6)
    factors = [s / 2 if s < 2 else (1 + math.cos(math.pi * (min(s, 6) - 2) / 4)) / 2 for s in range(9)]
    expected = torch.tensor([0.5 * f for f in factors], dtype=torch.float64)
    assert_close(torch.tensor(lrs, dtype=torch.float64), expected,
                 "learning rates at steps 0..8 of warmup_cosine(opt, 2, 6)", family="small schedule")

"""Hidden checks for lr_schedules: the whole contract of its statement."""
from __future__ import annotations

import math
from typing import Any

import torch

from nnlab.grader.checks import CheckFailed, assert_close, evaluate, expect_raises

_SGD = "torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)"
# Every group's learning rate right after construction, then after each of n steps.
_TRACE = ("[[g['lr'] for g in o.param_groups]] + "
          "[(o.step(), s.step(), [g['lr'] for g in o.param_groups])[2] for _ in range(n)]")


def _linear(step: int, warmup: int) -> float:
    return step / warmup if step < warmup else 1.0


def _cosine(step: int, warmup: int, total: int, m: float = 0.0) -> float:
    if step < warmup:
        return step / warmup
    if step > total:
        return m
    return m + (1 - m) * (1 + math.cos(math.pi * (step - warmup) / (total - warmup))) / 2


def _optimizer(sub: Any, lr: float = 0.5) -> Any:
    return evaluate(sub, _SGD, label=f"an SGD optimizer with lr={lr}", lr=lr)


def _trace(sub: Any, opt: Any, sched: Any, steps: int, what: str) -> list[list[float]]:
    lrs = evaluate(sub, _TRACE, label="the learning rates over the steps",
                   o=opt, s=sched, n=steps)
    if not (isinstance(lrs, list) and all(isinstance(row, list) for row in lrs)
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for row in lrs for v in row)):
        raise CheckFailed(f"{what}: the learning rates are not plain numbers: {lrs!r:.200}")
    return lrs


def _compare(lrs: list[list[float]], expected: list[list[float]], what: str, family: str) -> None:
    got = torch.tensor(lrs, dtype=torch.float64)
    want = torch.tensor(expected, dtype=torch.float64)
    # Rows are steps: the failure message's index (step, group) names the step.
    assert_close(got, want, f"{what}: learning rates indexed (step, group)", family=family)


def _schedule(sub: Any, make: str, args: tuple[Any, ...], steps: int, factor: Any, family: str,
              base_lr: float = 0.5) -> None:
    opt = _optimizer(sub, base_lr)
    sched = getattr(sub, make)(opt, *args)
    what = f"{make}(opt, {', '.join(repr(a) for a in args)})"
    expected = [[base_lr * factor(step)] for step in range(steps + 1)]
    _compare(_trace(sub, opt, sched, steps, what), expected, what, family)


def test_returns_lambdalr(sub):
    """Do both functions return a LambdaLR bound to the optimizer they were given?"""
    for make, args in (("linear_warmup", (3,)), ("warmup_cosine", (3, 10)),
                       ("warmup_cosine", (0, 5, 0.1))):
        opt = _optimizer(sub)
        sched = getattr(sub, make)(opt, *args)
        found = evaluate(
            sub,
            "[isinstance(s, torch.optim.lr_scheduler.LambdaLR), getattr(s, 'optimizer', None) is o]",
            label="the type of your scheduler", s=sched, o=opt)
        what = f"{make}(opt, {', '.join(repr(a) for a in args)})"
        if not isinstance(found, list) or found[:1] != [True]:
            raise CheckFailed(f"{what}: expected a torch.optim.lr_scheduler.LambdaLR, got {sched!r}")
        if found[1:] != [True]:
            raise CheckFailed(f"{what}: the LambdaLR is not bound to the optimizer passed in")


def test_linear_warmup_schedule(sub):
    """Does linear_warmup rise as step / warmup_steps and then stay at the base lr, for several lengths?"""
    for warmup, steps, base_lr in ((1, 4, 0.5), (3, 8, 0.1), (7, 12, 2.0), (10, 25, 1e-3)):
        _schedule(sub, "linear_warmup", (warmup,), steps, lambda s, w=warmup: _linear(s, w),
                  f"warm-up of {warmup} steps, base lr {base_lr}", base_lr)


def test_warmup_cosine_schedule(sub):
    """Does warmup_cosine warm up, follow the cosine over total - warmup steps, and then stay at the minimum?"""
    for warmup, total, steps in ((10, 100, 110), (3, 10, 14), (1, 2, 5), (4, 11, 13), (6, 7, 9)):
        _schedule(sub, "warmup_cosine", (warmup, total), steps,
                  lambda s, w=warmup, t=total: _cosine(s, w, t),
                  f"warm-up {warmup}, total {total}, {steps} steps")


def test_min_lr_ratio(sub):
    """Does warmup_cosine decay to min_lr_ratio * base lr and stay there after total_steps?"""
    for warmup, total, ratio, steps in ((5, 20, 0.1, 26), (2, 9, 0.5, 12), (0, 6, 0.05, 9), (3, 8, 1.0, 10)):
        _schedule(sub, "warmup_cosine", (warmup, total, ratio), steps,
                  lambda s, w=warmup, t=total, m=ratio: _cosine(s, w, t, m),
                  f"min_lr_ratio {ratio}, warm-up {warmup}, total {total}")
    # As a keyword argument too.
    opt = _optimizer(sub)
    sched = sub.warmup_cosine(opt, 2, 7, min_lr_ratio=0.2)
    expected = [[0.5 * _cosine(s, 2, 7, 0.2)] for s in range(10)]
    _compare(_trace(sub, opt, sched, 9, "warmup_cosine(opt, 2, 7, min_lr_ratio=0.2)"), expected,
             "warmup_cosine(opt, 2, 7, min_lr_ratio=0.2)", "min_lr_ratio as a keyword")


def test_zero_warmup(sub):
    """With warmup_steps=0, is there no warm-up (factor 1 at step 0) and no division by zero?"""
    _schedule(sub, "linear_warmup", (0,), 5, lambda s: 1.0, "linear_warmup without warm-up")
    _schedule(sub, "warmup_cosine", (0, 8), 10, lambda s: _cosine(s, 0, 8),
              "warmup_cosine without warm-up")
    _schedule(sub, "warmup_cosine", (0, 1), 3, lambda s: _cosine(s, 0, 1),
              "warmup_cosine without warm-up, one decay step")


def test_invalid_arguments(sub):
    """Is ValueError raised unless 0 <= warmup_steps < total_steps (and for a negative linear warm-up)?"""
    for args in ((10, 10), (12, 10), (-1, 10), (0, 0), (3, -2)):
        with expect_raises(ValueError, f"warmup_cosine(opt, {args[0]}, {args[1]})"):
            sub.warmup_cosine(_optimizer(sub), *args)
    with expect_raises(ValueError, "linear_warmup(opt, -1)"):
        sub.linear_warmup(_optimizer(sub), -1)
    # The boundary that is valid must still work.
    _schedule(sub, "warmup_cosine", (9, 10), 11, lambda s: _cosine(s, 9, 10),
              "warmup_steps = total_steps - 1")


def test_param_groups(sub):
    """Is each parameter group scaled from its own initial learning rate (SGD groups and Adam)?"""
    opt = evaluate(
        sub,
        "torch.optim.SGD([{'params': [torch.nn.Parameter(torch.zeros(1))], 'lr': 0.5}, "
        "{'params': [torch.nn.Parameter(torch.zeros(2))], 'lr': 0.02}], lr=0.1, momentum=0.9)",
        label="an SGD optimizer with two parameter groups")
    sched = sub.warmup_cosine(opt, 3, 9, 0.1)
    expected = [[lr * _cosine(s, 3, 9, 0.1) for lr in (0.5, 0.02)] for s in range(12)]
    _compare(_trace(sub, opt, sched, 11, "warmup_cosine(opt, 3, 9, 0.1)"), expected,
             "warmup_cosine(opt, 3, 9, 0.1)", "two parameter groups")
    adam = evaluate(sub, "torch.optim.Adam([torch.nn.Parameter(torch.zeros(3))])",
                    label="an Adam optimizer with its default lr")
    sched = sub.linear_warmup(adam, 4)
    expected = [[1e-3 * _linear(s, 4)] for s in range(7)]
    _compare(_trace(sub, adam, sched, 6, "linear_warmup(adam, 4)"), expected, "linear_warmup(adam, 4)",
             "Adam with the default lr")

"""gradcheck_remote's fast mode probes projections the student cannot know in advance."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
import torch

from nnlab.grader.checks import CheckFailed, evaluate, gradcheck_remote, remote_function
from nnlab.grader.session import WorkerSession

# torch's fast gradcheck draws u (then v) from a fresh torch.Generator(), whose seed is
# torch's fixed default: a student can compute them. `sneaky` adds to the true gradient a
# term orthogonal to that u, so v^T J u is right and the Jacobian wrong.
_SOURCE = '''
import torch

SEEN = []


def _torch_fast_mode_u(n):
    u = torch.rand(n, generator=torch.Generator()).double()
    return u / u.norm()


class _Sneaky(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        u = _torch_fast_mode_u(x.numel())
        junk = torch.zeros(x.numel(), dtype=x.dtype)
        junk[0] = 1.0
        junk = junk - (junk @ u) * u
        return grad * x.cos() + grad.sum() * junk.view_as(x)


class _Sin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        SEEN.append(x.clone())
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos()


class _WrongSin(_Sin):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.cos() * 1.01


class _Mul(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, p):
        ctx.save_for_backward(x, w)
        ctx.p = p
        return (x * w) ** p

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        inner = ctx.p * (x * w) ** (ctx.p - 1) * grad
        return inner * w, (inner * x).sum(0), None


class Scale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.linspace(0.5, 1.5, 3, dtype=torch.float64))

    def forward(self, x):
        return _Mul.apply(x, self.weight, 1)


def sneaky(x):
    return _Sneaky.apply(x)


def sin(x):
    return _Sin.apply(x)


def sin_by_autograd(x):
    return torch.sin(x)


def wrong_sin(x):
    return _WrongSin.apply(x)


def mul(x, w, *, p):
    return _Mul.apply(x, w, p)
'''


@pytest.fixture(scope="module")
def root(launcher) -> Iterator[Any]:
    session = WorkerSession(launcher, _SOURCE, "sample.py", [], [], 60.0)
    try:
        yield session.root
    finally:
        session.close()


def _local_sneaky() -> Any:
    """The same crafted function, run here by plain torch."""
    namespace: dict[str, Any] = {}
    exec(compile(_SOURCE, "sample.py", "exec"), namespace)  # the test's own source
    return namespace["sneaky"]


def test_the_hole_is_real_without_secret_factors(root) -> None:
    """Does a backward right only along torch's fixed projections pass plain fast gradcheck,
    locally and through the worker bridge, while its Jacobian is wrong?"""
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    options: dict[str, Any] = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-4, "raise_exception": False}
    assert torch.autograd.gradcheck(_local_sneaky(), (x,), fast_mode=True, **options)
    assert not torch.autograd.gradcheck(_local_sneaky(), (x,), fast_mode=False, **options)
    assert torch.autograd.gradcheck(remote_function(root.sneaky), (x,), fast_mode=True, **options)


@pytest.mark.parametrize("seed", [0, 1, 2, 20261123])
def test_a_backward_right_only_along_torchs_projections_fails(root, seed: int) -> None:
    """Does gradcheck_remote fail the crafted backward, whatever the check's seed?"""
    torch.manual_seed(seed)
    x = torch.randn(3, 4, dtype=torch.float64)
    with pytest.raises(CheckFailed, match="^sneaky: gradcheck failed: Jacobian mismatch"):
        gradcheck_remote(root.sneaky, [x], "sneaky")


@pytest.mark.parametrize("seed", [0, 1, 2, 20261123])
def test_right_backwards_pass_and_a_subtly_wrong_one_fails(root, seed: int) -> None:
    """Do a hand-written backward, one left to autograd, one with two inputs and a keyword, and a
    module with a parameter pass, and a gradient 1% off fail, for any seed?"""
    torch.manual_seed(seed)
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    gradcheck_remote(root.sin, [x], "sin")
    gradcheck_remote(root.sin_by_autograd, [x], "sin_by_autograd")
    w = torch.rand(4, dtype=torch.float64) + 0.5
    gradcheck_remote(root.mul, [x.abs() + 0.5, w], "mul", kwargs={"p": 3})
    layer = evaluate(root, "submission.Scale()", "a Scale")
    gradcheck_remote(layer, [torch.randn(2, 3, dtype=torch.float64)], "Scale", module=layer)
    with pytest.raises(CheckFailed, match="^wrong_sin: gradcheck failed: Jacobian mismatch"):
        gradcheck_remote(root.wrong_sin, [x], "wrong_sin")


def test_the_points_and_the_checks_later_draws_stay_as_they_were(root) -> None:
    """Does the student's forward first see the check's input bit for bit, and does the check
    draw the same numbers after gradcheck_remote as without it?"""
    evaluate(root, "submission.SEEN.clear()", "clearing SEEN")
    torch.manual_seed(7)
    x = torch.randn(5, dtype=torch.float64)
    gradcheck_remote(root.sin, [x], "sin")
    after = torch.rand(6)
    first_seen = evaluate(root, "submission.SEEN[0]", "the first input seen")
    assert torch.equal(first_seen, x)
    torch.manual_seed(7)
    torch.randn(5, dtype=torch.float64)
    assert torch.equal(torch.rand(6), after)

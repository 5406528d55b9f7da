"""Hidden checks for multitask_loss: the whole contract of its statement."""
from __future__ import annotations

import torch

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_equal, assert_tensor,
                                 expect_raises, gradcheck_remote, parameters_of, randn,
                                 state_dict_of, vjp)


def _losses(n: int, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    # Positive, spread over two orders of magnitude, like real task losses.
    return [torch.exp(randn(1, dtype=torch.float64, scale=1.5)).reshape(()).to(dtype) for _ in range(n)]


def _log_vars(n: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    # Non-zero, both signs: at zero exp(-s) and exp(s) agree and a wrong sign would pass.
    values = randn(n, dtype=torch.float64, scale=1.5)
    values = torch.where(values.abs() < 0.3, values.sign().clamp(min=0) * 2 - 1, values)
    return values.to(dtype)


def _reference(log_vars: torch.Tensor, losses: list[torch.Tensor]) -> torch.Tensor:
    s = log_vars.double()
    return (torch.exp(-s) * torch.stack([loss.double() for loss in losses]) + s).sum()


def _module(sub, n: int, log_vars: torch.Tensor) -> Remote:
    module = sub.MultiTaskLoss(n)
    module.load_state_dict({"log_vars": log_vars.clone()})
    return module


def test_registration(sub):
    """Is log_vars the only parameter, (task_num,) zeros, and the only state_dict key, for 1, 2 and 5 tasks?"""
    for n in (1, 2, 5):
        module = sub.MultiTaskLoss(n)
        params = parameters_of(module)
        assert_equal(sorted(params), ["log_vars"], f"parameter names of MultiTaskLoss({n})")
        log_vars = assert_tensor(params["log_vars"], f"log_vars of MultiTaskLoss({n})", shape=(n,),
                                 dtype=torch.float32)
        if not bool((log_vars == 0).all()):
            raise CheckFailed(f"log_vars of MultiTaskLoss({n}): expected zeros, got {log_vars.tolist()}")
        assert_equal(sorted(state_dict_of(module)), ["log_vars"], f"state_dict keys of MultiTaskLoss({n})")


def test_weighted_sum(sub):
    """After loading non-zero log_vars, is the total sum_i exp(-s_i) * L_i + s_i, a 0-dim tensor?"""
    for n in (1, 2, 4, 7):
        log_vars = _log_vars(n)
        module = _module(sub, n, log_vars)
        for trial in range(2):
            losses = _losses(n)
            if trial == 1:
                losses[0] = torch.tensor(0.0)  # a task that is already solved
            got = assert_tensor(module(*losses), f"MultiTaskLoss({n}) output", shape=(), dtype=torch.float32)
            assert_close(got, _reference(log_vars, losses).float(),
                         f"MultiTaskLoss({n}) with log_vars {[round(v, 3) for v in log_vars.tolist()]}",
                         family="loaded log_vars")
    # The parameter read back must be the one loaded (the forward uses it, not a copy).
    log_vars = torch.tensor([4.0, -4.0, 0.5])
    module = _module(sub, 3, log_vars)
    assert_close(parameters_of(module).get("log_vars"), log_vars, "log_vars after load_state_dict")
    losses = _losses(3)
    assert_close(module(*losses), _reference(log_vars, losses).float(), "MultiTaskLoss(3) with log_vars "
                 "[4, -4, 0.5]", family="large log_vars")


def test_wrong_number_of_losses(sub):
    """Is ValueError raised for fewer, more, or no losses than task_num?"""
    module = sub.MultiTaskLoss(3)
    for count in (2, 4, 0):
        with expect_raises(ValueError, f"MultiTaskLoss(3) called with {count} losses"):
            module(*_losses(count))
    with expect_raises(ValueError, "MultiTaskLoss(1) called with 2 losses"):
        sub.MultiTaskLoss(1)(*_losses(2))


def test_gradients(sub):
    """Do the gradients with respect to the losses and to log_vars match the formula's?"""
    for n in (1, 3, 5):
        log_vars = _log_vars(n)
        module = _module(sub, n, log_vars)
        losses = _losses(n)
        grad_out = randn(1).reshape(())
        _, grads, param_grads = vjp(module, losses, [grad_out], module=module)
        leaves = [loss.double().requires_grad_(True) for loss in losses]
        s = log_vars.double().requires_grad_(True)
        _reference(s, leaves).backward(grad_out.double())
        for i, (got, leaf) in enumerate(zip(grads, leaves)):
            if got is None:
                raise CheckFailed(f"MultiTaskLoss({n}): no gradient reached losses[{i}]; keep the losses "
                                  "in the graph (no .item(), no .detach())")
            assert_close(got, leaf.grad.float(), f"MultiTaskLoss({n}): gradient with respect to losses[{i}]",
                         family="loaded log_vars")
        got = param_grads.get("log_vars")
        if got is None:
            raise CheckFailed(f"MultiTaskLoss({n}): no gradient reached log_vars; is it an nn.Parameter "
                              "used in forward?")
        assert_close(got, s.grad.float(), f"MultiTaskLoss({n}): gradient of log_vars", family="loaded log_vars")


def test_gradcheck_float64(sub):
    """Does a float64 module give a float64 total and pass gradcheck with respect to the losses?"""
    log_vars = _log_vars(3, torch.float64)
    module = sub.MultiTaskLoss(3).double()
    module.load_state_dict({"log_vars": log_vars.clone()})
    losses = _losses(3, torch.float64)
    assert_close(module(*losses), _reference(log_vars, losses), "float64 MultiTaskLoss(3)", family="float64")
    gradcheck_remote(module, losses, "MultiTaskLoss(3) gradient with respect to the losses")

"""Public checks for multitask_loss: quick feedback on the common mistakes."""
from __future__ import annotations

import torch

from nnlab.grader.checks import CheckFailed, assert_close, assert_equal, assert_tensor, parameters_of


def test_initial_sum(sub):
    """With log_vars at zero, is the total the plain sum of the losses?"""
    losses = [torch.tensor(1.5), torch.tensor(0.25), torch.tensor(3.0)]
    expected = torch.stack(losses).double().sum().float()
    assert_close(sub.MultiTaskLoss(3)(*losses), expected, "MultiTaskLoss(3) on losses 1.5, 0.25, 3.0",
                 family="fresh module (log_vars = 0)")


def test_log_vars_parameter(sub):
    """Is `log_vars` an nn.Parameter of shape (task_num,), all zeros?"""
    params = parameters_of(sub.MultiTaskLoss(3))
    assert_equal(sorted(params), ["log_vars"], "parameter names of MultiTaskLoss(3)")
    log_vars = assert_tensor(params["log_vars"], "log_vars of MultiTaskLoss(3)", shape=(3,),
                             dtype=torch.float32)
    if not bool((log_vars == 0).all()):
        raise CheckFailed(f"log_vars of MultiTaskLoss(3): expected zeros, got {log_vars.tolist()}")

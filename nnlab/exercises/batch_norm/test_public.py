"""Public checks for batch_norm: quick feedback on the common mistakes."""
from __future__ import annotations

from torch import nn

from nnlab.grader.checks import CheckFailed, assert_close, assert_tensor, randn, state_dict_of

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_train_forward_small(sub):
    """In training mode, does MyBatchNorm1d(4) normalize a (8, 4) batch like nn.BatchNorm1d?"""
    x = randn(8, 4, scale=2.0) + 1.0
    expected = nn.BatchNorm1d(4).double()(x.double()).float()
    assert_close(sub.MyBatchNorm1d(4)(x), expected, "MyBatchNorm1d(4) forward in training mode",
                 family="small (N, C) batch")


def test_running_stats_small(sub):
    """After one training batch, are running_mean, running_var (unbiased) and num_batches_tracked right?"""
    layer = sub.MyBatchNorm1d(3)
    reference = nn.BatchNorm1d(3).double()
    x = randn(6, 3, scale=1.5) + 0.5
    layer(x)
    reference(x.double())
    state = state_dict_of(layer)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        if name not in state:
            raise CheckFailed(f"state_dict of MyBatchNorm1d(3) has no `{name}` (keys: {sorted(state)})")
    assert_close(state["running_mean"], reference.running_mean.float(), "running_mean after one batch")
    assert_close(state["running_var"], reference.running_var.float(),
                 "running_var after one batch (the unbiased batch variance goes in)")
    count = assert_tensor(state["num_batches_tracked"], "num_batches_tracked", shape=())
    if count.item() != 1:
        raise CheckFailed(f"num_batches_tracked after one training batch: expected 1, got {count.item()}")

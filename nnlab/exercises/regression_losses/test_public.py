"""Public checks for regression_losses: quick feedback on the common mistakes."""
from __future__ import annotations

import torch.nn.functional as F

from nnlab.grader.checks import assert_close, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_mse_small(sub):
    """Does mse_loss match F.mse_loss on a small (4, 5) batch with the default reduction?"""
    x, t = randn(4, 5), randn(4, 5)
    expected = F.mse_loss(x.double(), t.double()).float()
    assert_close(sub.mse_loss(x, t), expected, "mse_loss(input, target)", family="small normal batch")


def test_l1_and_smooth_l1_small(sub):
    """Do l1_loss and smooth_l1_loss match torch on a small batch with the defaults?"""
    x, t = randn(4, 5, scale=2.0), randn(4, 5)
    assert_close(sub.l1_loss(x, t), F.l1_loss(x.double(), t.double()).float(),
                 "l1_loss(input, target)", family="small normal batch")
    assert_close(sub.smooth_l1_loss(x, t), F.smooth_l1_loss(x.double(), t.double()).float(),
                 "smooth_l1_loss(input, target)", family="small batch, differences on both sides of beta=1")

"""Public checks for cross_entropy: quick feedback on the common mistakes."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import assert_close, randint, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_nll_small(sub):
    """Does nll_loss match F.nll_loss on a small batch of log-probabilities?"""
    log_probs = F.log_softmax(randn(5, 4, dtype=torch.float64), dim=1).float()
    target = randint(0, 4, 5)
    expected = F.nll_loss(log_probs.double(), target).float()
    assert_close(sub.nll_loss(log_probs, target), expected, "nll_loss(input, target)",
                 family="small (5, 4) batch of log-probabilities")


def test_cross_entropy_small(sub):
    """Does cross_entropy match F.cross_entropy on a small batch of logits and class indices?"""
    logits = randn(5, 4, scale=2.0)
    target = randint(0, 4, 5)
    expected = F.cross_entropy(logits.double(), target).float()
    assert_close(sub.cross_entropy(logits, target), expected, "cross_entropy(input, target)",
                 family="small (5, 4) batch of logits")

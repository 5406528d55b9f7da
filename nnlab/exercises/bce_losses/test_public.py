"""Public checks for bce_losses: quick feedback on the common mistakes."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import assert_close, randint, randn


def test_bce_small(sub):
    """Does binary_cross_entropy match F.binary_cross_entropy on a small batch of probabilities?"""
    p = torch.sigmoid(randn(4, 3, scale=2.0))
    t = randint(0, 2, 4, 3).float()
    expected = F.binary_cross_entropy(p.double(), t.double()).float()
    assert_close(sub.binary_cross_entropy(p, t), expected, "binary_cross_entropy(input, target)",
                 family="small batch, probabilities in (0, 1), 0/1 targets")


def test_bce_with_logits_small(sub):
    """Does binary_cross_entropy_with_logits match torch on a small batch of moderate logits?"""
    x = randn(4, 3, scale=2.0)
    t = randint(0, 2, 4, 3).float()
    expected = F.binary_cross_entropy_with_logits(x.double(), t.double()).float()
    assert_close(sub.binary_cross_entropy_with_logits(x, t), expected,
                 "binary_cross_entropy_with_logits(input, target)",
                 family="small batch, moderate logits, 0/1 targets")

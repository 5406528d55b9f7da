"""Public checks for focal_loss: quick feedback on the common mistakes."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import assert_close, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _binary(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    # torchvision.ops.sigmoid_focal_loss with alpha=0.25, gamma=2, reduction='mean', in float64.
    x, t = x.double(), t.double()
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    return ((0.25 * t + 0.75 * (1 - t)) * ce * (1 - p_t) ** 2).mean()


def test_binary_defaults(sub):
    """Does FocalLoss() (alpha=0.25, gamma=2, mean) match torchvision's formula on a small batch?"""
    x = randn(8, scale=2.0)
    t = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    assert_close(sub.FocalLoss()(x, t), _binary(x, t).float(), "FocalLoss() on 8 logits",
                 family="small batch, hard targets")


def test_multiclass_defaults(sub):
    """Does MultiClassFocalLoss() (alpha=0.25, gamma=2, mean) match the formula on a small batch?"""
    x = randn(6, 4, scale=2.0)
    y = torch.tensor([0, 3, 1, 2, 3, 0])
    ce = F.cross_entropy(x.double(), y, reduction="none")
    expected = (0.25 * (1 - torch.exp(-ce)) ** 2 * ce).mean().float()
    assert_close(sub.MultiClassFocalLoss()(x, y), expected, "MultiClassFocalLoss() on (6, 4) logits",
                 family="small batch")

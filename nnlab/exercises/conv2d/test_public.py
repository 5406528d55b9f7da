"""Public checks for conv2d: quick feedback on the common mistakes."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import assert_close, assert_tensor, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_output_shape(sub):
    """Does conv2d map a (2, 3, 7, 9) input and a (4, 3, 3, 3) kernel to (2, 4, 5, 7)?"""
    out = sub.conv2d(randn(2, 3, 7, 9), randn(4, 3, 3, 3))
    assert_tensor(out, "conv2d of a (2, 3, 7, 9) input with a (4, 3, 3, 3) kernel",
                  shape=(2, 4, 5, 7), dtype=torch.float32)


def test_forward_small(sub):
    """Does conv2d with a bias and padding=1 match F.conv2d on a small batch?"""
    x, w, b = randn(2, 3, 6, 5), randn(4, 3, 3, 3), randn(4)
    expected = F.conv2d(x.double(), w.double(), b.double(), padding=1).float()
    # float32 rounding grows with the 27 terms summed per output.
    assert_close(sub.conv2d(x, w, b, padding=1), expected, "conv2d(x, w, b, padding=1)",
                 family="small normal batch", atol=1e-4)

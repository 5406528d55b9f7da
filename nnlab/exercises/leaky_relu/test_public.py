"""Public checks for leaky_relu: quick feedback on the common mistakes."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import assert_close, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _expected(x: torch.Tensor, slope: float) -> torch.Tensor:
    # The reference in float64 from a pristine copy, cast back to the input's dtype.
    return F.leaky_relu(x.double(), slope).to(x.dtype)


def test_forward_default_slope(sub):
    """Does LeakyReLU() match nn.LeakyReLU with the default slope 0.01?"""
    x = randn(6, 5)
    assert_close(sub.LeakyReLU()(x), _expected(x, 0.01), "LeakyReLU() forward", family="small normal batch")


def test_forward_custom_slope(sub):
    """Does LeakyReLU(0.2) use the slope it was given?"""
    x = randn(4, 7)
    assert_close(sub.LeakyReLU(0.2)(x), _expected(x, 0.2), "LeakyReLU(0.2) forward", family="small normal batch")

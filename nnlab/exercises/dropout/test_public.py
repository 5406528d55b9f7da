"""Public checks for dropout: quick feedback on the common mistakes."""
from __future__ import annotations

import math

import torch

from nnlab.grader.checks import CheckFailed, assert_close, assert_tensor, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_eval_identity(sub):
    """In eval mode, is MyDropout(0.5) the identity?"""
    drop = sub.MyDropout(0.5)
    drop.eval()
    x = randn(6, 7)
    assert_close(drop(x), x, "MyDropout(0.5) in eval mode", family="small normal batch", rtol=0.0, atol=0.0)


def test_training_drops_and_scales(sub):
    """In training mode, does MyDropout(0.5) zero about half the elements and double the rest?"""
    p, shape = 0.5, (200, 50)
    x = randn(*shape)
    x = x + 0.1 * torch.sign(x)  # no zero inputs: a zero output means a dropped element
    out = assert_tensor(sub.MyDropout(p)(x), "MyDropout(0.5) in training mode", shape=shape, dtype=x.dtype)
    dropped = out == 0
    kept_expected = (x.double() / (1 - p)).float()
    assert_close(torch.where(dropped, kept_expected, out), kept_expected,
                 "MyDropout(0.5): the elements not zeroed (expected x / (1 - p) = 2x)", family="(200, 50) batch")
    fraction = dropped.double().mean().item()
    tolerance = 10 * math.sqrt(p * (1 - p) / x.numel())  # 10 standard deviations: never a false alarm
    if abs(fraction - p) > tolerance:
        raise CheckFailed(f"MyDropout(0.5) zeroed {fraction:.3f} of {x.numel()} elements; expected about 0.5 "
                          f"(within {tolerance:.3f})")

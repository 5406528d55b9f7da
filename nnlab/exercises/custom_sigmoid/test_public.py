"""Public checks for custom_sigmoid: the forward value and a backward with a non-unit upstream gradient."""
from __future__ import annotations

import torch

from nnlab.grader.checks import CheckFailed, assert_close, randn, vjp

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_forward_small(sub):
    """Does custom_sigmoid match torch.sigmoid on a small (4, 5) batch?"""
    x = randn(4, 5, scale=2.0)
    assert_close(sub.custom_sigmoid(x), torch.sigmoid(x.double()).float(), "custom_sigmoid of a (4, 5) input",
                 family="normal values")


def test_backward_small(sub):
    """Is the gradient with respect to the input right (times grad_output) on a small batch?"""
    x = randn(4, 5, scale=2.0)
    g = randn(4, 5)
    _, grads, _ = vjp(sub.custom_sigmoid, [x], [g])
    if grads[0] is None:
        raise CheckFailed("no gradient reached the input of custom_sigmoid: does it return "
                          "CustomSigmoid.apply(x), and does backward return the input's gradient?")
    s = torch.sigmoid(x.double())
    assert_close(grads[0], (g.double() * s * (1 - s)).float(), "gradient of custom_sigmoid",
                 family="random upstream gradient")

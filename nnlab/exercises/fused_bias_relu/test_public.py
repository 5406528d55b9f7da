"""Public checks for fused_bias_relu: the forward value and both gradients on a small batch."""
from __future__ import annotations

import torch

from nnlab.grader.checks import CheckFailed, assert_close, randn, vjp

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def test_forward_small(sub):
    """Does FusedBiasReLU.apply(input, bias) equal relu(input + bias) on a (5, 4) batch?"""
    x, b = randn(5, 4), randn(4)
    expected = torch.relu(x.double() + b.double()).float()
    assert_close(sub.FusedBiasReLU.apply(x, b), expected, "FusedBiasReLU.apply on a (5, 4) input",
                 family="small normal batch")


def test_backward_small(sub):
    """Are grad_input and grad_bias right on a (5, 4) batch with a random upstream gradient?"""
    x, b, g = randn(5, 4), randn(4), randn(5, 4)
    _, grads, _ = vjp(sub.FusedBiasReLU.apply, [x, b], [g])
    xr, br = x.double().requires_grad_(True), b.double().requires_grad_(True)
    torch.relu(xr + br).backward(g.double())
    for got, ref, name in ((grads[0], xr.grad, "input"), (grads[1], br.grad, "bias")):
        if got is None:
            raise CheckFailed(f"no gradient reached `{name}`: backward must return (grad_input, grad_bias)")
        assert_close(got, ref.float(), f"gradient with respect to {name}", family="small normal batch")

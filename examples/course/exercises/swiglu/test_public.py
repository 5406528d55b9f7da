"""Public checks for swiglu: quick feedback on the common mistakes."""
from __future__ import annotations

import torch

from nnlab.grader.checks import assert_close, randn


def expected(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor) -> torch.Tensor:
    # The reference in float64, cast back to the input's dtype.
    gate = x.double() @ w_gate.double().T
    return (gate * torch.sigmoid(gate) * (x.double() @ w_up.double().T)).to(x.dtype)


def test_forward_small(sub):
    """Does swiglu match silu(x @ w_gate.T) * (x @ w_up.T) on a (batch, d_in) input?"""
    x, w_gate, w_up = randn(4, 6), randn(5, 6), randn(5, 6)
    assert_close(sub.swiglu(x, w_gate, w_up), expected(x, w_gate, w_up), "swiglu(x, w_gate, w_up)",
                 family="small normal batch")

"""Reference solution for swiglu."""
from __future__ import annotations

import torch


def swiglu(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor) -> torch.Tensor:
    """SwiGLU: silu(x @ w_gate.T) * (x @ w_up.T), with silu(z) = z * sigmoid(z).

    Args:
        x: (..., d_in), any leading dimensions.
        w_gate: (d_hidden, d_in), the gate's weight.
        w_up: (d_hidden, d_in), the value's weight.
    Returns:
        (..., d_hidden).
    """
    # BEGIN SOLUTION
    gate = x @ w_gate.T
    return gate * torch.sigmoid(gate) * (x @ w_up.T)
    # END SOLUTION

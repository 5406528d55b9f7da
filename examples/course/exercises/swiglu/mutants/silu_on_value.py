"""The SiLU on the value projection instead of the gate: the forward checks must catch it."""
# nnlab-expect: test_forward_small test_leading_dimensions
from __future__ import annotations

import torch


def swiglu(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor) -> torch.Tensor:
    up = x @ w_up.T
    return (x @ w_gate.T) * up * torch.sigmoid(up)

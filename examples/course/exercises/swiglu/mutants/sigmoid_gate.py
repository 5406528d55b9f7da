"""A sigmoid gate (GLU) instead of a SiLU gate: the forward checks must catch it."""
# nnlab-expect: test_forward_small test_leading_dimensions
from __future__ import annotations

import torch


def swiglu(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x @ w_gate.T) * (x @ w_up.T)

"""A right variant written with einsum: full marks."""
# nnlab-expect: full
from __future__ import annotations

import torch


def swiglu(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor) -> torch.Tensor:
    gate = torch.einsum("...i,hi->...h", x, w_gate)
    return gate * torch.sigmoid(gate) * torch.einsum("...i,hi->...h", x, w_up)

"""Exercise dropout: inverted dropout with a mask shared by forward and backward (see dropout.md)."""
from __future__ import annotations

import torch
from torch import nn


class MyDropout(nn.Module):
    """Inverted dropout, like torch.nn.Dropout.

    Training mode: each element is zeroed independently with probability p and the
    survivors are scaled by 1 / (1 - p) (p = 1: all zeros). Eval mode: the identity.
    The backward pass uses the same mask.

    Args:
        p: probability of zeroing an element; ValueError unless 0 <= p <= 1.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: any shape and floating dtype -> same shape and dtype; x is not modified."""
        raise NotImplementedError

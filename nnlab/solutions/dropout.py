"""Reference solution for dropout."""
from __future__ import annotations

import torch
from torch import nn


class MyDropout(nn.Module):
    """Inverted dropout, like torch.nn.Dropout."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            # 1 / (1 - p) would be inf and 0 * inf NaN; multiplying by zeros keeps the graph,
            # so the gradient is an exact zero too.
            return x * torch.zeros_like(x)
        # A 0/1 keep mask (probability 1 - p), drawn afresh at every call; autograd
        # multiplies grad_output by the very same mask.
        keep = torch.empty_like(x).bernoulli_(1.0 - self.p)
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"

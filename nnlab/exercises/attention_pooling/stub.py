"""Exercise attention_pooling: a masked softmax over time steps (see attention_pooling.md)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    """context = sum_t weights[:, t] * rnn_output[:, t], weights = softmax_t(attention(rnn_output)).

    Args:
        hidden_dim: H, the size of each time step's vector.

    Attributes:
        attention: nn.Linear(hidden_dim, 1), the score of each time step.
    """

    def __init__(self, hidden_dim: int) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, rnn_output: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """rnn_output: (B, T, H); mask: (B, T) bool, True = real step, or None.

        Returns (context (B, H), weights (B, T)). Masked positions get weight 0; a row with no
        True position gets zero weights and a zero context (no NaN, in values or gradients).
        """
        raise NotImplementedError

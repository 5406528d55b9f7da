"""Reference solution for attention_pooling."""
from __future__ import annotations

import torch
from torch import nn


class AttentionPooling(nn.Module):
    """Pools (B, T, H) RNN outputs into (B, H) with a learned softmax over time steps."""

    def __init__(self, hidden_dim: int) -> None:
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.attention(rnn_output).squeeze(-1)  # (B, T)
        if mask is not None:
            mask = mask.bool()
            # A row with no True position would be softmax([-inf, ...]) = NaN; give it finite
            # scores and zero its weights afterwards. torch.where routes no gradient (and no
            # NaN) through the branch it does not pick.
            has_any = mask.any(dim=-1, keepdim=True)
            scores = scores.masked_fill(~mask, float("-inf"))
            scores = torch.where(has_any, scores, torch.zeros_like(scores))
            weights = torch.softmax(scores, dim=-1)
            weights = torch.where(has_any, weights, torch.zeros_like(weights))
        else:
            weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), rnn_output).squeeze(1)  # (B, H)
        return context, weights

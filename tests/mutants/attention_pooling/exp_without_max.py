"""Writes the softmax as exp(s) / sum(exp(s)) without subtracting the maximum: overflows."""
# nnlab-expect: test_large_magnitudes
import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        scores = self.attention(rnn_output).squeeze(-1)
        e = torch.exp(scores)
        if mask is not None:
            e = e * mask
        weights = e / e.sum(dim=1, keepdim=True).clamp_min(1e-30)
        context = torch.sum(weights.unsqueeze(-1) * rnn_output, dim=1)
        return context, weights

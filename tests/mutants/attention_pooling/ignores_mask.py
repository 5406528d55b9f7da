"""Accepts the mask but never applies it."""
# nnlab-expect: test_mask_semantics test_fully_masked_rows test_large_magnitudes test_fully_masked_gradients
import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        scores = self.attention(rnn_output).squeeze(-1)
        weights = F.softmax(scores, dim=1)
        context = torch.sum(weights.unsqueeze(-1) * rnn_output, dim=1)
        return context, weights

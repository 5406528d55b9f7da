"""Fills masked scores with -1e9: no NaN, but a row with no True position gets uniform weights."""
# nnlab-expect: test_fully_masked_rows test_fully_masked_gradients
import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        scores = self.attention(rnn_output).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, -1e9)
        weights = F.softmax(scores, dim=1)
        context = torch.sum(weights.unsqueeze(-1) * rnn_output, dim=1)
        return context, weights

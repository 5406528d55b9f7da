"""Adds an additive -inf mask and cleans NaN with nan_to_num: the forward is right, the gradients NaN."""
# nnlab-expect: test_fully_masked_gradients
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
            scores = scores + torch.where(mask, 0.0, float("-inf"))
        weights = torch.nan_to_num(F.softmax(scores, dim=-1), nan=0.0)
        context = torch.sum(weights.unsqueeze(-1) * rnn_output, dim=1)
        return context, weights

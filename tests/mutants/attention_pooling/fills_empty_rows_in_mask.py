"""Gives a row with no True position one by writing into the caller's mask (mask.bool() of a
bool mask is the same tensor): right values, but the mask comes back changed, and only on the
fully masked rows that the statement names."""
# nnlab-expect: test_fully_masked_rows
import torch
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        scores = self.attention(rnn_output).squeeze(-1)
        if mask is None:
            weights = torch.softmax(scores, dim=-1)
        else:
            mask = mask.bool()
            empty = ~mask.any(dim=-1)
            if empty.any():
                mask[empty, 0] = True
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            weights = weights * (~empty).unsqueeze(-1)
        context = torch.bmm(weights.unsqueeze(1), rnn_output).squeeze(1)
        return context, weights

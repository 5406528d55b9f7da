"""A correct variant: masked_fill(-inf), softmax, nan_to_num (its backward blocks the NaN), einsum."""
# nnlab-expect: full
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
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
        context = torch.einsum("bt,bth->bh", weights, rnn_output)
        return context, weights

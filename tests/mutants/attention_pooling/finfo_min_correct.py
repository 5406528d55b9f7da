"""A correct variant: fill with the dtype's lowest value, then zero the empty rows by multiplication."""
# nnlab-expect: full
import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        scores = self.attention(rnn_output).squeeze(2)
        if mask is None:
            return (F.softmax(scores, 1).unsqueeze(2) * rnn_output).sum(1), F.softmax(scores, 1)
        scores = scores.masked_fill(mask.logical_not(), torch.finfo(scores.dtype).min)
        weights = F.softmax(scores, dim=1) * mask.any(dim=1, keepdim=True).to(scores.dtype)
        context = (weights.unsqueeze(2) * rnn_output).sum(1)
        return context, weights

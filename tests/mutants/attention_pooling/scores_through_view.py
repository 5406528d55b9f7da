"""Scores the steps through rnn_output.view(-1, H): right on contiguous inputs, a RuntimeError
on a transposed or channels-strided one, where .reshape would copy."""
# nnlab-expect: test_no_mask_parity test_mask_semantics
import torch
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        batch, steps, hidden = rnn_output.shape
        scores = self.attention(rnn_output.view(-1, hidden)).view(batch, steps)
        if mask is not None:
            has_any = mask.any(dim=-1, keepdim=True)
            scores = torch.where(has_any, scores.masked_fill(~mask, float("-inf")), torch.zeros_like(scores))
            weights = torch.where(has_any, torch.softmax(scores, dim=-1), torch.zeros_like(scores))
        else:
            weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights.unsqueeze(1), rnn_output).squeeze(1)
        return context, weights

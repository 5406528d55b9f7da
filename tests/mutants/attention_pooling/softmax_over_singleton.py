"""Takes the softmax of the (B, T, 1) scores over their last dimension: every weight is 1."""
# nnlab-expect: test_forward_no_mask test_no_mask_parity test_weights_sum_to_one test_mask_semantics test_gradients
import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)

    def forward(self, rnn_output, mask=None):
        scores = self.attention(rnn_output)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(-1), float("-inf"))
        weights = F.softmax(scores, dim=-1).squeeze(-1)
        weights = torch.nan_to_num(weights, nan=0.0)
        context = torch.bmm(weights.unsqueeze(1), rnn_output).squeeze(1)
        return context, weights

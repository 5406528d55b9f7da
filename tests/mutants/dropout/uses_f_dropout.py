"""Calls the banned F.dropout: zero for the exercise."""
# nnlab-expect: test_training_drops_and_scales test_drop_fraction test_backward_same_mask
import torch.nn.functional as F
from torch import nn


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

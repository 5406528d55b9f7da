"""Reaches torch.dropout through the torch module's __dict__, which the source scan cannot
resolve: the run-time trace must still catch it."""
# nnlab-expect: test_training_drops_and_scales test_drop_fraction test_survivors_scaled test_backward_same_mask test_independent_masks
import torch
from torch import nn

_DROP = torch.__dict__["drop" + "out"]


class MyDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError("p must be in [0, 1]")
        self.p = p

    def forward(self, x):
        return _DROP(x, self.p, self.training)

"""Stable BCE but p = 1/(1+exp(-x)) by hand: exp overflows at x = -100 and the gradient is NaN."""
# nnlab-expect: test_large_logits
import torch
from torch import nn

REDUCTIONS = {"none": lambda v: v, "mean": torch.mean, "sum": torch.sum}


class FocalLoss(nn.Module):
    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(reduction)
        self.alpha = alpha
        self.gamma = gamma
        self.reduction = reduction

    def forward(self, inputs, targets):
        if inputs.size() != targets.size():
            raise ValueError("size mismatch")
        ce = torch.clamp(inputs, min=0) - inputs * targets + torch.log1p(torch.exp(-torch.abs(inputs)))
        p = 1 / (1 + torch.exp(-inputs))
        p_t = p * targets + (1 - p) * (1 - targets)
        weight = (1 - p_t) ** self.gamma
        if self.alpha >= 0:
            weight = weight * (self.alpha * targets + (1 - self.alpha) * (1 - targets))
        return REDUCTIONS[self.reduction](weight * ce)


class MultiClassFocalLoss(nn.Module):
    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(reduction)
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, inputs, targets):
        picked = inputs[torch.arange(inputs.shape[0]), targets]
        ce = torch.logsumexp(inputs, dim=1) - picked
        p_t = torch.exp(-ce)
        return REDUCTIONS[self.reduction](self.alpha * (1 - p_t) ** self.gamma * ce)

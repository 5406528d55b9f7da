"""A correct version in log space: logsigmoid / log_softmax, checks in forward, gather for p_t."""
# nnlab-expect: full
import torch
import torch.nn.functional as F
from torch import nn


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"unknown reduction {reduction}")


class FocalLoss(nn.Module):
    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, inputs, targets):
        if inputs.shape != targets.shape:
            raise ValueError("inputs and targets must have the same shape")
        log_p, log_q = F.logsigmoid(inputs), F.logsigmoid(-inputs)
        ce = -(targets * log_p + (1 - targets) * log_q)
        # 1 - p_t = p + t - 2 p t, with p and 1 - p each taken from its own log.
        one_minus_pt = log_p.exp() * (1 - targets) + log_q.exp() * targets
        loss = ce * one_minus_pt.pow(self.gamma)
        if self.alpha >= 0:
            loss = loss * torch.where(targets.new_ones(()).bool(), self.alpha * targets
                                      + (1 - self.alpha) * (1 - targets), targets)
        return _reduce(loss, self.reduction)


class MultiClassFocalLoss(nn.Module):
    def __init__(self, alpha=0.25, gamma=2.0, reduction="mean"):
        super().__init__()
        self.alpha, self.gamma, self.reduction = alpha, gamma, reduction

    def forward(self, inputs, targets):
        log_pt = F.log_softmax(inputs, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1)
        loss = -self.alpha * (1 - log_pt.exp()) ** self.gamma * log_pt
        return _reduce(loss, self.reduction)

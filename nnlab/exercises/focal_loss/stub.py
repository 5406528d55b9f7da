"""Exercise focal_loss: binary and multi-class focal loss on logits (see focal_loss.md)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """Binary focal loss on logits, with the semantics of torchvision.ops.sigmoid_focal_loss.

    For logits x and targets t in [0, 1] (same shape), elementwise:
        p       = sigmoid(x)
        ce      = binary cross-entropy of (x, t), computed from the logits
        p_t     = p * t + (1 - p) * (1 - t)
        loss    = ce * (1 - p_t) ** gamma
        alpha_t = alpha * t + (1 - alpha) * (1 - t)
        loss    = alpha_t * loss          (only when alpha >= 0)
    then reduced with reduction 'none' | 'mean' | 'sum'.

    Raises:
        ValueError: for another reduction, or targets shaped differently from the logits.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """inputs: logits of any shape; targets: same shape, values in [0, 1]."""
        raise NotImplementedError


class MultiClassFocalLoss(nn.Module):
    """Multi-class focal loss: alpha * (1 - p_t) ** gamma * CE per sample.

    inputs: (N, C) logits; targets: (N,) class indices (int64).
    CE is the per-sample cross-entropy and p_t = exp(-CE) the predicted probability of the
    target class. Reduced with 'none' (shape (N,)) | 'mean' | 'sum'; ValueError otherwise.
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

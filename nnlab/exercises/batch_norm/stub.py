"""Exercise batch_norm: batch normalization with running statistics (see batch_norm.md)."""
from __future__ import annotations

import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel, like nn.BatchNorm1d.

    Inputs (N, C) or (N, C, L); statistics per channel over dims 0 (and 2).

    Args:
        num_features: C, the number of channels.
        eps: added to the variance inside the square root.
        momentum: running = (1 - momentum) * running + momentum * batch_stat;
            None for a cumulative average (factor 1 / num_batches_tracked).
        affine: learnable `weight` (ones) and `bias` (zeros) of shape (C,); else both None.
        track_running_stats: buffers `running_mean` (zeros), `running_var` (ones) and
            `num_batches_tracked` (0, torch.long); else all three None.

    Training mode: normalize with the batch mean and biased variance; update the buffers
    (running_var with the unbiased variance). Eval mode: normalize with the running
    statistics (batch statistics when there are none).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C) or (N, C, L) -> same shape. ValueError for other ranks, or n == 1 in training."""
        raise NotImplementedError

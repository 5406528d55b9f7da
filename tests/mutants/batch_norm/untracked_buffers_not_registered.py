"""With track_running_stats=False the three buffers are never registered as None: the attributes are missing."""
# nnlab-expect: test_parameters_and_buffers
from __future__ import annotations

import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    """Batch normalization over (N, C) or (N, C, L) inputs, like torch.nn.BatchNorm1d."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            # Buffers, not parameters: saved in the state_dict, moved by .to(), never trained.
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            # Nothing registered: the three attributes do not exist at all.
            pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")
        # Statistics per channel: over the batch, and over the length for (N, C, L).
        dims = (0,) if x.dim() == 2 else (0, 2)
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1)
        use_batch_stats = self.training or not self.track_running_stats
        if use_batch_stats:
            count = x.numel() // x.size(1)
            if count <= 1:
                raise ValueError(f"Expected more than 1 value per channel when training, "
                                 f"got input size {list(x.shape)}")
            # Two-pass variance (torch.var_mean): stable when the mean is large.
            var, mean = torch.var_mean(x, dim=dims, unbiased=False)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var, count)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean.reshape(shape)) * torch.rsqrt(var.reshape(shape) + self.eps)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
        self.num_batches_tracked.add_(1)
        # momentum=None: a cumulative moving average, the k-th batch weighted 1/k.
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        # The running variance is the unbiased estimate: n / (n - 1) times the batch variance.
        unbiased = var * (count / (count - 1))
        self.running_mean.mul_(1 - factor).add_(mean.to(self.running_mean.dtype), alpha=factor)
        self.running_var.mul_(1 - factor).add_(unbiased.to(self.running_var.dtype), alpha=factor)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")

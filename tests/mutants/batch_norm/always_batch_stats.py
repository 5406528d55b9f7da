"""Ignores eval mode: always normalizes with the batch statistics and updates the buffers."""
# nnlab-expect: test_eval_mode
import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, x):
        if x.dim() not in (2, 3):
            raise ValueError("expected 2D or 3D input")
        dims = (0,) if x.dim() == 2 else (0, 2)
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1)
        if True:
            n = x.numel() // x.size(1)
            if n <= 1:
                raise ValueError("Expected more than 1 value per channel when training")
            mean = x.mean(dims)
            var = ((x - mean.reshape(shape)) ** 2).mean(dims)
            if self.track_running_stats:
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    f = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
                    self.running_mean.copy_((1 - f) * self.running_mean + f * mean)
                    self.running_var.copy_((1 - f) * self.running_var + f * var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

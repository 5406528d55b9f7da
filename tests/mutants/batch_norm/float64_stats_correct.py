"""A correct MyBatchNorm1d: statistics accumulated in float64, the count kept as a buffer."""
# nnlab-expect: full
import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x):
        if x.dim() == 2:
            dims, shape = [0], (1, -1)
        elif x.dim() == 3:
            dims, shape = [0, 2], (1, -1, 1)
        else:
            raise ValueError("MyBatchNorm1d expects (N, C) or (N, C, L)")
        n = x.numel() // x.shape[1]
        if self.training or self.running_mean is None:
            if n == 1:
                raise ValueError("Expected more than 1 value per channel when training")
            wide = x.double()
            mean64 = wide.mean(dims, keepdim=True)
            var64 = (wide - mean64).pow(2).sum(dims, keepdim=True) / n
            mean, var = mean64.to(x.dtype), var64.to(x.dtype)
            if self.training and self.running_mean is not None:
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1 / self.num_batches_tracked.item()
                self.running_mean.mul_(1 - m).add_(m * mean64.detach().flatten().to(self.running_mean.dtype))
                self.running_var.mul_(1 - m).add_(
                    m * (var64.detach().flatten() * n / (n - 1)).to(self.running_var.dtype))
        else:
            mean, var = self.running_mean.reshape(shape), self.running_var.reshape(shape)
        y = (x - mean) / (var + self.eps).sqrt()
        if self.weight is not None:
            y = self.weight.reshape(shape) * y + self.bias.reshape(shape)
        return y

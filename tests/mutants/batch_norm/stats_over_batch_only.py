"""For (N, C, L) inputs, takes statistics over dimension 0 only (one mean per channel and position)."""
# nnlab-expect: test_train_forward test_running_stats test_gradients
import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.eps, self.momentum = eps, momentum
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
        shape = (1, -1) if x.dim() == 2 else (1, -1, 1)
        if self.training or not self.track_running_stats:
            if x.size(0) <= 1 and x.numel() // x.size(1) <= 1:
                raise ValueError("Expected more than 1 value per channel when training")
            # Statistics over the batch dimension only, for 2-D and 3-D alike.
            mean = x.mean(0, keepdim=True)
            var = x.var(0, unbiased=False, keepdim=True)
            if self.training and self.track_running_stats:
                n = x.size(0)
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    f = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
                    m = mean.reshape(x.size(1), -1).mean(1)
                    v = var.reshape(x.size(1), -1).mean(1) * n / max(n - 1, 1)
                    self.running_mean.mul_(1 - f).add_(f * m)
                    self.running_var.mul_(1 - f).add_(f * v)
        else:
            mean, var = self.running_mean.reshape(shape), self.running_var.reshape(shape)
        y = (x - mean) / torch.sqrt(var + self.eps)
        if self.affine:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        return y

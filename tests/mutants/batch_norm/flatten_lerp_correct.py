"""A correct MyBatchNorm1d written differently: channels-first flattening, var_mean, lerp_."""
# nnlab-expect: full
import torch
from torch import nn


class MyBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        # Buffers first, parameters second: the state_dict keys are the same set.
        for name, value in (("running_mean", torch.zeros(num_features)),
                            ("running_var", torch.ones(num_features)),
                            ("num_batches_tracked", torch.zeros((), dtype=torch.long))):
            self.register_buffer(name, value if track_running_stats else None)
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None

    def forward(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
        c = x.shape[1]
        # (C, n): every value of a channel in one row.
        rows = x.transpose(0, 1).reshape(c, -1)
        view = [1, c] + [1] * (x.ndim - 2)
        if self.training or self.running_mean is None:
            n = rows.shape[1]
            if n < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            var, mean = torch.var_mean(rows, dim=1, correction=0)
            if self.training and self.running_mean is not None:
                with torch.no_grad():
                    self.num_batches_tracked += 1
                    if self.momentum is None:
                        w = 1.0 / int(self.num_batches_tracked)
                    else:
                        w = self.momentum
                    self.running_mean.lerp_(mean, w)
                    self.running_var.lerp_(var * (n / (n - 1)), w)
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean.view(view)) * (var.view(view) + self.eps).rsqrt()
        if self.weight is not None:
            out = torch.addcmul(self.bias.view(view), out, self.weight.view(view))
        return out

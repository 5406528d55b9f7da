"""Reaches batch norm through F.instance_norm on the transposed batch, which the source scan
allows: the run-time trace catches aten::native_batch_norm underneath."""
# nnlab-expect: test_train_forward_small test_running_stats_small test_train_forward test_gradients test_stability_and_dtypes
import torch
from torch import nn
import torch.nn.functional as F


class MyBatchNorm1d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None
        self.register_buffer("running_mean", torch.zeros(num_features) if track_running_stats else None)
        self.register_buffer("running_var", torch.ones(num_features) if track_running_stats else None)
        self.register_buffer("num_batches_tracked",
                             torch.tensor(0, dtype=torch.long) if track_running_stats else None)

    def forward(self, x):
        # (N, C, L) -> (1, C, N*L): one "instance" whose statistics are the batch's.
        shape = x.shape
        flat = x.transpose(0, 1).reshape(1, shape[1], -1)
        use_running = not self.training and self.running_mean is not None
        if self.training and self.running_mean is not None:
            self.num_batches_tracked += 1
        factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        y = F.instance_norm(flat, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats=not use_running, momentum=factor, eps=self.eps)
        return y.reshape(shape[1], shape[0], *shape[2:]).transpose(0, 1)

"""Calls the banned F.batch_norm through an alias: zero for the exercise."""
# nnlab-expect: test_train_forward_small test_running_stats_small test_train_forward test_eval_mode test_gradients
import torch
from torch import nn
import torch.nn.functional as nnf


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
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked += 1
        return nnf.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                              self.training or self.running_mean is None,
                              self.momentum if self.momentum is not None else 0.0, self.eps)

"""Averages the weighted task losses instead of summing them."""
# nnlab-expect: test_initial_sum test_weighted_sum test_gradients test_gradcheck_float64
import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    def __init__(self, task_num):
        super().__init__()
        self.task_num = task_num
        self.log_vars = nn.Parameter(torch.zeros(task_num))

    def forward(self, *losses):
        if len(losses) != self.task_num:
            raise ValueError("wrong number of losses")
        total = 0
        for i, loss in enumerate(losses):
            total = total + torch.exp(-self.log_vars[i]) * loss + self.log_vars[i]
        return total / self.task_num

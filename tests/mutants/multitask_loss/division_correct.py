"""A correct version: divides by exp(log_vars) in a generator sum; raises in forward."""
# nnlab-expect: full
import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    def __init__(self, task_num):
        super().__init__()
        self.log_vars = nn.Parameter(torch.zeros(task_num))

    def forward(self, *losses):
        if len(losses) != len(self.log_vars):
            raise ValueError("one loss per task")
        return sum(loss / self.log_vars[i].exp() + self.log_vars[i] for i, loss in enumerate(losses))

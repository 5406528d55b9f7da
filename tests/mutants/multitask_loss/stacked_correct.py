"""A correct version written differently: stack the losses, precision weights, one sum."""
# nnlab-expect: full
import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    def __init__(self, task_num: int):
        super().__init__()
        self.num_tasks = task_num
        self.register_parameter("log_vars", nn.Parameter(torch.zeros(task_num)))

    def forward(self, *losses):
        if len(losses) != self.log_vars.numel():
            raise ValueError(f"{len(losses)} losses for {self.num_tasks} tasks")
        stacked = torch.stack(losses)
        precision = torch.exp(-self.log_vars)
        return torch.sum(precision * stacked + self.log_vars)

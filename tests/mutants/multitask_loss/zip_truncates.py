"""Pairs log_vars and losses with zip and never checks the count: no ValueError."""
# nnlab-expect: test_wrong_number_of_losses
import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    def __init__(self, task_num):
        super().__init__()
        self.task_num = task_num
        self.log_vars = nn.Parameter(torch.zeros(task_num))

    def forward(self, *losses):
        total = 0
        for log_var, loss in zip(self.log_vars, losses):
            total = total + torch.exp(-log_var) * loss + log_var
        return total

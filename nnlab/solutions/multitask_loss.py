"""Reference solution for multitask_loss."""
from __future__ import annotations

import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    """Uncertainty weighting: sum_i exp(-log_vars[i]) * losses[i] + log_vars[i]."""

    def __init__(self, task_num: int) -> None:
        super().__init__()
        self.task_num = task_num
        # log(sigma_i^2) starts at 0: every task weighted 1 at first.
        self.log_vars = nn.Parameter(torch.zeros(task_num))

    def forward(self, *losses: torch.Tensor) -> torch.Tensor:
        if len(losses) != self.task_num:
            raise ValueError(f"expected {self.task_num} losses, got {len(losses)}")
        total = torch.zeros((), dtype=self.log_vars.dtype, device=self.log_vars.device)
        for i, loss in enumerate(losses):
            total = total + torch.exp(-self.log_vars[i]) * loss + self.log_vars[i]
        return total

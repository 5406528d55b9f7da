"""allow_unused=False: an fn with a learnable slope (w * x) has a first derivative whose graph never reaches x."""
# nnlab-expect: test_linear_function
from __future__ import annotations

from typing import Callable

import torch


def derivatives(fn: Callable[[torch.Tensor], torch.Tensor],
                x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # A fresh leaf: the caller's tensor is neither modified nor given a .grad.
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)
        if not y.requires_grad:  # fn does not depend on x at all
            return torch.zeros_like(x).detach(), torch.zeros_like(x).detach()
        # fn is elementwise, so the vector-Jacobian product with ones gives every dy_i/dx_i;
        # create_graph=True records that computation so it can be differentiated again.
        (dy_dx,) = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), create_graph=True)
        if dy_dx.requires_grad:
            (d2y_dx2,) = torch.autograd.grad(dy_dx, x, grad_outputs=torch.ones_like(dy_dx),
                                             allow_unused=False)
        else:  # a constant first derivative (fn linear in x) has no graph: its derivative is 0
            d2y_dx2 = None
    if d2y_dx2 is None:
        d2y_dx2 = torch.zeros_like(x)
    return dy_dx.detach(), d2y_dx2.detach()

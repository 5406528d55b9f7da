"""Exercise higher_order_grad: first and second derivatives with autograd (see higher_order_grad.md)."""
from __future__ import annotations

from typing import Callable

import torch


def derivatives(fn: Callable[[torch.Tensor], torch.Tensor],
                x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(dy_dx, d2y_dx2) of the elementwise function y = fn(x) at every element of x.

    Args:
        fn: a differentiable elementwise function (fn(x)[i] depends on x[i] only).
        x: a 1-D float tensor.

    Returns:
        dy_dx[i] = fn'(x[i]) and d2y_dx2[i] = fn''(x[i]), computed with torch.autograd.grad
        (create_graph=True for the first derivative), both detached, shaped and typed like x.
    """
    raise NotImplementedError

"""练习 higher_order_grad：用自动微分计算一阶和二阶导数（题目见 higher_order_grad.md）。"""
from __future__ import annotations

from typing import Callable

import torch


def derivatives(fn: Callable[[torch.Tensor], torch.Tensor],
                x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """逐元素函数 y = fn(x) 在 x 每个元素处的 (dy_dx, d2y_dx2)。

    参数：
        fn: 可导的逐元素函数（fn(x)[i] 只依赖 x[i]）。
        x: 一维浮点张量。

    返回：
        dy_dx[i] = fn'(x[i]) 和 d2y_dx2[i] = fn''(x[i])，用 torch.autograd.grad 计算
        （求一阶导数时加 create_graph=True），两者都已 detach，形状和 dtype 与 x 相同。
    """
    raise NotImplementedError

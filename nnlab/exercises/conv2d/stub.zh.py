"""练习 conv2d：用 unfold 和矩阵乘法实现二维卷积（题目见 conv2d.md）。"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1) -> torch.Tensor:
    """二维互相关，行为与 torch.nn.functional.conv2d 相同（但不得调用它）。

    参数：
        input: (N, C_in, H, W)。
        weight: (C_out, C_in // groups, kH, kW)。
        bias: (C_out,) 或 None。
        stride, padding, dilation: 一个 int，或一对值（高方向，宽方向）。
        groups: 把通道分成这么多个互相独立的组。

    返回：
        形状为 (N, C_out, H_out, W_out) 的张量，其中
        H_out = (H + 2*padding[0] - dilation[0]*(kH - 1) - 1) // stride[0] + 1（W 同理），且
        out[n, o, i, j] = bias[o] + sum_{c,p,q} weight[o, c, p, q]
                          * x_pad[n, g*C_in/groups + c, i*s0 + p*d0, j*s1 + q*d1]，
        g = o // (C_out // groups)。

    提示：允许使用 F.unfold(input, (kH, kW), dilation=..., padding=..., stride=...)。
    """
    raise NotImplementedError

"""Exercise conv2d: a 2-D convolution with unfold and matmul (see conv2d.md)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1) -> torch.Tensor:
    """2-D cross-correlation, like torch.nn.functional.conv2d (which you may not call).

    Args:
        input: (N, C_in, H, W).
        weight: (C_out, C_in // groups, kH, kW).
        bias: (C_out,) or None.
        stride, padding, dilation: an int, or a pair (for height, for width).
        groups: split the channels into this many independent blocks.

    Returns:
        (N, C_out, H_out, W_out) with
        H_out = (H + 2*padding[0] - dilation[0]*(kH - 1) - 1) // stride[0] + 1 (same for W), and
        out[n, o, i, j] = bias[o] + sum_{c,p,q} weight[o, c, p, q]
                          * x_pad[n, g*C_in/groups + c, i*s0 + p*d0, j*s1 + q*d1],
        g = o // (C_out // groups).

    Hint: F.unfold(input, (kH, kW), dilation=..., padding=..., stride=...) is allowed.
    """
    raise NotImplementedError

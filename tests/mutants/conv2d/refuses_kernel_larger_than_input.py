"""Refuses every kernel larger than the unpadded input: padding can make it fit (F.conv2d
accepts a 6x6 kernel on a 4x4 input with padding=1)."""
# nnlab-expect: test_errors_like_torch
from __future__ import annotations
import torch
import torch.nn.functional as F


def _pair(value: int | tuple[int, int] | list[int], name: str) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    pair = tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1) -> torch.Tensor:
    """2-D cross-correlation, like torch.nn.functional.conv2d."""
    sh, sw = _pair(stride, "stride")
    ph, pw = _pair(padding, "padding")
    dh, dw = _pair(dilation, "dilation")
    n, c_in, h, w = input.shape
    c_out, c_per_group, kh, kw = weight.shape
    # The same error type as F.conv2d, with a message that says what does not fit.
    if c_per_group * groups != c_in:
        raise RuntimeError(f"groups={groups} with a weight of shape {tuple(weight.shape)} expects "
                           f"{c_per_group * groups} input channels, got {c_in}")
    if c_out % groups != 0:
        raise RuntimeError(f"the {c_out} output channels cannot be split into {groups} groups")
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if kh > h or kw > w or h_out <= 0 or w_out <= 0:
        raise RuntimeError(f"the kernel {kh}x{kw} (dilation {dh}x{dw}) does not fit in the padded "
                           f"input of size {h + 2 * ph}x{w + 2 * pw}")
    # (N, C_in*kH*kW, L): rows ordered (channel, kernel row, kernel column), like weight's.
    cols = F.unfold(input, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
    cols = cols.view(n, groups, c_per_group * kh * kw, h_out * w_out)
    filters = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    # (groups, C_out/g, K) @ (N, groups, K, L) -> (N, groups, C_out/g, L)
    out = torch.matmul(filters, cols).reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

"""conv2d with a Python loop over output rows (each row vectorized): right values, too slow."""
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
    if h_out <= 0 or w_out <= 0:
        raise RuntimeError(f"the kernel {kh}x{kw} (dilation {dh}x{dw}) does not fit in the padded "
                           f"input of size {h + 2 * ph}x{w + 2 * pw}")
    padded = F.pad(input, (pw, pw, ph, ph))
    filters = weight.reshape(groups, c_out // groups, c_per_group, kh, kw)
    rows = []
    for i in range(h_out):  # one output row at a time, vectorized along the row
        top = i * sh
        band = padded[:, :, top:top + dh * (kh - 1) + 1:dh, :]
        patches = band.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]  # n, c, kh, w_out, kw
        patches = patches.reshape(n, groups, c_per_group, kh, w_out, kw)
        rows.append(torch.einsum("ngcawb,gocab->ngow", patches, filters).reshape(n, c_out, w_out))
    out = torch.stack(rows, 2)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

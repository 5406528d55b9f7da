"""conv2d with a pixel loop that memoizes results by a cheap fingerprint of the inputs."""
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


_CACHE: dict[tuple, torch.Tensor] = {}


def conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
           stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
           dilation: int | tuple[int, int] = 1, groups: int = 1) -> torch.Tensor:
    # Shapes, settings and a few sample values stand for the whole input.
    probe = tuple(float(t.reshape(-1)[i]) for t in (input, weight) for i in (0, -1)) \
        if input.numel() and weight.numel() else ()
    key = (tuple(input.shape), tuple(weight.shape), bias is None, str(stride), str(padding),
           str(dilation), groups, probe)
    if key not in _CACHE:
        _CACHE[key] = _slow_conv2d(input, weight, bias, stride, padding, dilation, groups)
    return _CACHE[key]


def _slow_conv2d(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None,
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
    # One output pixel at a time: the receptive field times the filters.
    padded = F.pad(input, (pw, pw, ph, ph))
    filters = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)
    pixels = []
    for i in range(h_out):
        for j in range(w_out):
            top, left = i * sh, j * sw
            patch = padded[:, :, top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw]
            patch = patch.reshape(n, groups, c_per_group * kh * kw, 1)
            pixels.append(torch.matmul(filters, patch).reshape(n, c_out))
    out = torch.stack(pixels, -1).reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out

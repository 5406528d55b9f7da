"""Splits the unfolded rows into groups the wrong way (interleaved instead of in blocks)."""
# nnlab-expect: test_groups test_noncontiguous_and_dtypes test_gradients
import torch
import torch.nn.functional as F


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = input.shape
    out_c, cpg, kh, kw = weight.shape
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cols = F.unfold(input, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    # wrong: the rows of group g are a contiguous block, not every groups-th row
    cols = cols.view(n, cpg * kh * kw, groups, h_out * w_out).transpose(1, 2)
    out = torch.matmul(weight.reshape(groups, out_c // groups, -1), cols).reshape(n, out_c, h_out, w_out)
    return out if bias is None else out + bias.view(1, -1, 1, 1)

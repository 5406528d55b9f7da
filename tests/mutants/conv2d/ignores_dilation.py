"""Forgets to pass dilation to F.unfold (and to the output size): wrong with dilation > 1."""
# nnlab-expect: test_stride_padding_dilation test_groups test_gradients
import torch
import torch.nn.functional as F


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding = _pair(stride), _pair(padding)
    n, c, h, w = input.shape
    out_c, cpg, kh, kw = weight.shape
    h_out = (h + 2 * padding[0] - kh) // stride[0] + 1
    w_out = (w + 2 * padding[1] - kw) // stride[1] + 1
    cols = F.unfold(input, (kh, kw), padding=padding, stride=stride)
    cols = cols.view(n, groups, cpg * kh * kw, h_out * w_out)
    out = torch.matmul(weight.reshape(groups, out_c // groups, -1), cols).reshape(n, out_c, h_out, w_out)
    return out if bias is None else out + bias.view(1, -1, 1, 1)

"""Flips the kernel (a textbook convolution): PyTorch's conv2d is a cross-correlation."""
# nnlab-expect: test_forward_small test_stride_padding_dilation test_groups test_odd_sizes test_gradients
import torch
import torch.nn.functional as F


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    n, c, h, w = input.shape
    out_c, cpg, kh, kw = weight.shape
    weight = torch.flip(weight, dims=(2, 3))
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cols = F.unfold(input, (kh, kw), dilation=dilation, padding=padding, stride=stride)
    cols = cols.view(n, groups, cpg * kh * kw, h_out * w_out)
    out = torch.matmul(weight.reshape(groups, out_c // groups, -1), cols).reshape(n, out_c, h_out, w_out)
    return out if bias is None else out + bias.view(1, -1, 1, 1)

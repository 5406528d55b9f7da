"""Reaches F.conv2d through the module's __dict__, past the source scan: caught at run time."""
# nnlab-expect: test_output_shape test_forward_small test_stride_padding_dilation test_groups test_gradients
import torch
import torch.nn.functional as F

_conv = F.__dict__["conv2d"]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups)

"""Timing check for conv2d: conv2d against F.conv2d."""
from __future__ import annotations

import torch.nn.functional as F

from nnlab.grader.checks import Timed, TimingRequest, assert_fast, normal, timing

# (input, out channels): on the CPU a tall, narrow image with few channels, so a Python
# loop over the 6144 output pixels, or even over the 256 output rows, pays the interpreter
# per pixel (row), while unfold + matmul, or nine shifted products, do a few large ones.
SIZES = {"cpu": ((1, 4, 256, 24), 8), "cuda": ((8, 32, 128, 128), 64)}


def _case(device: str) -> Timed:
    (n, c, h, w), out = SIZES[device]
    fan_in = c * 9
    return Timed(lambda root: root.conv2d, F.conv2d,
                 [normal(n, c, h, w), normal(out, c, 3, 3, scale=fan_in ** -0.5), normal(out)],
                 {"padding": 1}, atol=1e-4)


@timing
def test_speed(sub, grading):
    """Is a 3x3 convolution (padding 1, bias) within reach of F.conv2d, with no loop over pixels?"""
    assert_fast(grading, sub, TimingRequest(
        _case, "conv2d(x, weight, bias, padding=1)", "F.conv2d",
        gate=("test_output_shape", "test_forward_small", "test_stride_padding_dilation",
              "test_bias", "test_odd_sizes")))

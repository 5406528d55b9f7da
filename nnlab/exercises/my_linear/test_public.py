"""Public checks for my_linear: quick feedback on the common mistakes."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from nnlab.grader.checks import assert_close, assert_tensor, load_reference_state, randn


def test_output_shape(sub):
    """Does MyLinear(4, 3) map a (5, 4) batch to (5, 3)?"""
    layer = sub.MyLinear(4, 3)
    assert_tensor(layer(randn(5, 4)), "MyLinear(4, 3) on a (5, 4) input", shape=(5, 3))


def test_forward_small(sub):
    """Does forward match nn.Linear on a small batch?"""
    reference = nn.Linear(4, 3)
    layer = sub.MyLinear(4, 3)
    load_reference_state(layer, reference)
    x = randn(5, 4)
    expected = F.linear(x.double(), reference.weight.double(), reference.bias.double()).float()
    assert_close(layer(x), expected, "forward of MyLinear(4, 3)", family="small normal batch")

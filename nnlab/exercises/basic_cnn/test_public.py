"""Public checks for basic_cnn: quick feedback on the common mistakes."""
from __future__ import annotations

import torch

from nnlab.grader.checks import assert_equal, assert_tensor, parameters_of, randn


def test_output_shape(sub):
    """Does BasicCNN() map a (2, 3, 32, 32) batch to (2, 10) logits?"""
    model = sub.BasicCNN().eval()
    assert_tensor(model(randn(2, 3, 32, 32)), "BasicCNN() in eval mode on a (2, 3, 32, 32) input",
                  shape=(2, 10))


def test_parameter_count(sub):
    """Does BasicCNN() have 2,193,674 parameters?"""
    params = parameters_of(sub.BasicCNN())
    count = sum(v.numel() for v in params.values() if type(v) is torch.Tensor)
    assert_equal(count, 2_193_674, "number of parameters of BasicCNN()")

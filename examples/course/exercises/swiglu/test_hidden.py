"""Hidden checks for swiglu: the whole contract."""
from __future__ import annotations

import torch

from nnlab.grader.checks import assert_close, gradcheck_remote, randn

from .test_public import expected


def test_leading_dimensions(sub):
    """Does swiglu take any leading dimensions, (..., d_in) -> (..., d_hidden)?"""
    for shape in ((3, 2, 6), (2, 2, 2, 6), (6,)):
        x, w_gate, w_up = randn(*shape), randn(4, 6), randn(4, 6)
        assert_close(sub.swiglu(x, w_gate, w_up), expected(x, w_gate, w_up), f"swiglu on a {shape} input",
                     family="leading dimensions")


def test_gradients(sub):
    """Do gradients reach x, w_gate and w_up correctly (gradcheck in float64)?"""
    x = randn(3, 4, dtype=torch.float64)
    w_gate, w_up = randn(5, 4, dtype=torch.float64), randn(5, 4, dtype=torch.float64)
    gradcheck_remote(sub.swiglu, [x, w_gate, w_up], "swiglu(x, w_gate, w_up) gradients")

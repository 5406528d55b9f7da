"""Timing check for custom_sigmoid: forward and backward against torch.sigmoid's."""
from __future__ import annotations

import torch

from nnlab.grader.checks import Timed, TimingRequest, assert_fast, normal, timing

# Elementwise work on a quarter-million (CPU) or 16 million (GPU) values per call: large
# against the autograd.Function's fixed Python cost, and a loop over rows pays it per row.
SIZES = {"cpu": (2048, 128), "cuda": (16384, 1024)}


def _case(device: str) -> Timed:
    rows, cols = SIZES[device]
    return Timed(lambda root: root.custom_sigmoid, torch.sigmoid,
                 [normal(rows, cols, scale=4.0, requires_grad=True)])


@timing
def test_speed(sub, grading):
    """Are forward and backward together within reach of torch.sigmoid's (no Python loops)?"""
    assert_fast(grading, sub, TimingRequest(_case, "custom_sigmoid forward and backward",
                                            "torch.sigmoid forward and backward", backward=True))

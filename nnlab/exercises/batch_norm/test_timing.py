"""Timing check for batch_norm: a training-mode forward against nn.BatchNorm1d."""
from __future__ import annotations

import torch
from torch import nn

from nnlab.grader.checks import (Timed, TimingRequest, assert_fast, load_reference_state, normal,
                                 timing)

# (N, C) with many rows: the statistics and the normalization are the work, and a Python
# loop over the rows pays the interpreter once per row. (Looping over the few channels is
# nearly vectorized and is not what this check is after.)
SIZES = {"cpu": (8192, 32), "cuda": (65536, 64)}


def _case(device: str) -> Timed:
    rows, channels = SIZES[device]
    reference = nn.BatchNorm1d(channels)
    with torch.no_grad():  # affine values away from 1 and 0, so both must be applied
        reference.weight.uniform_(0.5, 1.5)
        reference.bias.uniform_(-0.5, 0.5)

    def build(root):
        layer = root.MyBatchNorm1d(channels)
        load_reference_state(layer, reference)
        return layer.to(device)

    return Timed(build, reference, [normal(rows, channels, scale=2.0)])


@timing
def test_speed(sub, grading):
    """Is a training-mode forward within reach of nn.BatchNorm1d's, with no loop over the rows?"""
    assert_fast(grading, sub, TimingRequest(
        _case, "MyBatchNorm1d forward (training mode)", "nn.BatchNorm1d",
        gate=("test_train_forward_small", "test_running_stats_small", "test_train_forward",
              "test_running_stats")))

"""Timing check for cross_entropy: cross_entropy against F.cross_entropy."""
from __future__ import annotations

import torch.nn.functional as F

from nnlab.grader.checks import Timed, TimingRequest, assert_fast, integers, normal, timing

# Many samples of a few dozen (CPU) or a thousand (GPU) classes: the log-softmax passes are
# the work, and a Python loop over the samples pays the interpreter once per sample.
SIZES = {"cpu": (8192, 64), "cuda": (16384, 1000)}


def _case(device: str) -> Timed:
    rows, classes = SIZES[device]
    return Timed(lambda root: root.cross_entropy, F.cross_entropy,
                 [normal(rows, classes, scale=3.0), integers(rows, high=classes)])


@timing
def test_speed(sub, grading):
    """Is cross_entropy (mean over class indices) within reach of F.cross_entropy, with no loop over samples?"""
    assert_fast(grading, sub, TimingRequest(
        _case, "cross_entropy(logits, classes)", "F.cross_entropy",
        gate=("test_cross_entropy_small", "test_cross_entropy_reductions")))

"""Timing check for activations: softmax against F.softmax."""
from __future__ import annotations

import torch.nn.functional as F

from nnlab.grader.checks import Timed, TimingRequest, assert_fast, normal, timing

# Many short rows: a few whole-tensor passes are the work, and a Python loop over rows pays
# the interpreter (and, on a GPU, several kernel launches) once per row.
SIZES = {"cpu": (8192, 64), "cuda": (16384, 1024)}


def _case(device: str) -> Timed:
    rows, cols = SIZES[device]
    return Timed(lambda root: root.softmax, F.softmax, [normal(rows, cols, scale=3.0)],
                 {"dim": -1})


@timing
def test_speed(sub, grading):
    """Is softmax about as fast as F.softmax, with no Python loop over the rows?"""
    assert_fast(grading, sub, TimingRequest(_case, "softmax(x, dim=-1)", "F.softmax",
                                            gate=("test_small_values", "test_softmax_dims")))

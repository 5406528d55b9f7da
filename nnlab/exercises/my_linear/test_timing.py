"""Timing check for my_linear: MyLinear's forward against nn.Linear."""
from __future__ import annotations

from torch import nn

from nnlab.grader.checks import (Timed, TimingRequest, assert_fast, load_reference_state, normal,
                                 timing)

# Many short rows: the matrix product is the work, and a Python loop over rows pays the
# interpreter once per row. On a GPU the product itself must dwarf a kernel launch.
SIZES = {"cpu": (4096, 64, 64), "cuda": (16384, 512, 512)}


def _case(device: str) -> Timed:
    batch, in_f, out_f = SIZES[device]
    reference = nn.Linear(in_f, out_f)

    def build(root):
        layer = root.MyLinear(in_f, out_f)
        load_reference_state(layer, reference)
        return layer.to(device)

    # float32 rounding grows with the number of terms summed per output
    return Timed(build, reference, [normal(batch, in_f)], atol=1e-5 * max(8.0, in_f ** 0.5))


@timing
def test_speed(sub, grading):
    """Is forward about as fast as nn.Linear, with no Python loop over the rows?"""
    assert_fast(grading, sub, TimingRequest(
        _case, "MyLinear forward", "nn.Linear",
        gate=("test_output_shape", "test_forward_small", "test_forward_parity", "test_leading_dims")))

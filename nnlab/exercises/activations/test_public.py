"""Public checks for activations: quick feedback on values and on overflow at large inputs."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import CheckFailed, assert_close, assert_tensor, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

# name -> (torch reference, keyword arguments used here)
REFERENCES = {
    "sigmoid": (torch.sigmoid, {}),
    "tanh": (torch.tanh, {}),
    "relu": (F.relu, {}),
    "leaky_relu": (F.leaky_relu, {}),
    "silu": (F.silu, {}),
    "softmax": (F.softmax, {"dim": -1}),
    "log_softmax": (F.log_softmax, {"dim": -1}),
}


def test_small_values(sub):
    """Do all seven functions match torch on a small (4, 5) batch of normal values?"""
    x = randn(4, 5)
    for name, (reference, kwargs) in REFERENCES.items():
        expected = reference(x.double(), **kwargs).float()
        assert_close(getattr(sub, name)(x), expected, f"{name} of a (4, 5) input", family="normal values")


def test_large_inputs(sub):
    """Do the functions stay finite and correct for inputs from -1000 to 1000?"""
    x = torch.tensor([[-1000.0, -100.0, -20.0, -1.0, 0.5, 1.0, 20.0, 100.0, 1000.0]])
    for name, (reference, kwargs) in REFERENCES.items():
        got = assert_tensor(getattr(sub, name)(x), f"{name} of large inputs", shape=x.shape,
                            dtype=torch.float32)
        if not bool(torch.isfinite(got).all()):
            bad = int((~torch.isfinite(got)).nonzero()[0, -1])
            raise CheckFailed(f"{name} at x = {x[0, bad].item():g}: expected a finite value, got "
                              f"{got[0, bad].item()} (overflow: exp of a large number is inf)")
        expected = reference(x.double(), **kwargs).float()
        # log_softmax reaches -2000 here: float32 rounding is relative to that size.
        atol = 2e-2 if name == "log_softmax" else None
        assert_close(got, expected, f"{name} of large inputs", family="large magnitudes", atol=atol)

"""Public checks for init_weights: quick feedback on the common mistakes."""
from __future__ import annotations

import math

import torch

from nnlab.grader.checks import CheckFailed, assert_tensor

# Thresholds: 6 standard deviations of the sampling noise (a correct fill essentially never fails).
Z = 6.0


def _std_check(values: torch.Tensor, std: float, what: str) -> None:
    v = values.double().flatten()
    tolerance = Z / math.sqrt(2 * v.numel())
    got = v.std().item()
    if abs(got / std - 1) > tolerance:
        raise CheckFailed(f"{what}: std {got:.5g}, expected {std:.5g} (within {tolerance:.1%})")


def test_kaiming_normal_default(sub):
    """Does kaiming_normal_ with its defaults give std sqrt(2)/sqrt(fan_in) on a (256, 1024) tensor?"""
    what = "kaiming_normal_(tensor of shape (256, 1024))"
    got = assert_tensor(sub.kaiming_normal_(torch.zeros(256, 1024)), what, shape=(256, 1024),
                        dtype=torch.float32)
    # Defaults a=0, nonlinearity='leaky_relu': gain sqrt(2 / (1 + 0^2)) = sqrt(2); fan_in = 1024.
    _std_check(got, math.sqrt(2.0) / math.sqrt(1024), what)


def test_xavier_uniform_default(sub):
    """Is xavier_uniform_ uniform in +-sqrt(6/(fan_in+fan_out)) on a (256, 1024) tensor?"""
    what = "xavier_uniform_(tensor of shape (256, 1024))"
    got = assert_tensor(sub.xavier_uniform_(torch.zeros(256, 1024)), what, shape=(256, 1024),
                        dtype=torch.float32)
    bound = math.sqrt(6.0 / (1024 + 256))
    top = got.abs().max().item()
    if top > bound * (1 + 1e-5) or top < bound * 0.999:
        raise CheckFailed(f"{what}: values reach {top:.5g}, expected a uniform distribution "
                          f"reaching the bound {bound:.5g}")
    _std_check(got, bound / math.sqrt(3), what)

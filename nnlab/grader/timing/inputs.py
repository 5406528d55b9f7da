"""The tensor arguments of a timed call: a fresh random window of a pool for every call."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

_STEP_PRIMES = (61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113)


@dataclass(frozen=True)
class TimedInput:
    """A tensor argument of the timed call, drawn fresh for every call."""

    shape: tuple[int, ...]
    """The tensor's shape in every call."""
    kind: str = "normal"
    """'normal' (times `scale`), 'integers' (in [0, high)) or 'binary' (0./1. floats)."""
    scale: float = 1.0
    """Standard deviation of a 'normal' input."""
    high: int = 2
    """Exclusive upper bound of an 'integers' input."""
    dtype: torch.dtype = torch.float32
    """The tensor's dtype."""
    requires_grad: bool = False
    """For backward timing: the call's input becomes a leaf and its grad is re-checked."""

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def step(self) -> int:
        # Windows start 4*q elements apart (16-byte aligned for float32), q a prime that
        # does not divide the last dimension: two windows of one pool share no aligned row
        # until last_dim / gcd(step, last_dim) calls later, so a per-row cache finds nothing.
        last = self.shape[-1] if self.shape else 1
        for q in _STEP_PRIMES:
            if last % q:
                return 4 * q
        return 4 * _STEP_PRIMES[0] + 1

    @property
    def distinct_rows(self) -> int:
        """Windows one round may use: none of them share an aligned row, except with rows
        shorter than 64 values, where at least 16 windows are allowed (a Python-level cache
        lookup per row of a few dozen values costs more than computing it)."""
        last = self.shape[-1] if self.shape else 1
        return max(16, last // math.gcd(self.step, last) - 1)

    def draw_spec(self, n: int, seed: int, device: str) -> list[Any]:
        """How to draw a pool of `n` values (`draw_pool`), here or inside the worker's request."""
        return ["draw", self.kind, n, self.scale, self.high, self.dtype, seed, device]


def normal(*shape: int, scale: float = 1.0, dtype: torch.dtype = torch.float32,
           requires_grad: bool = False) -> TimedInput:
    """A normal random input of `shape` (times `scale`), new for every timed call."""
    return TimedInput(tuple(shape), "normal", scale=scale, dtype=dtype, requires_grad=requires_grad)


def integers(*shape: int, high: int) -> TimedInput:
    """A random int64 input in [0, high), new for every timed call."""
    return TimedInput(tuple(shape), "integers", high=high, dtype=torch.int64)


def binary(*shape: int, dtype: torch.dtype = torch.float32) -> TimedInput:
    """A random 0./1. input, new for every timed call."""
    return TimedInput(tuple(shape), "binary", dtype=dtype)

"""Deciding from rounds: the median of the per-round ratios against the threshold, and its spread."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Sequence

from nnlab.grader.timing import tuning


@dataclass(frozen=True)
class Sample:
    """One round: seconds per call of each side."""

    student_s: float
    """Seconds per call on the measurement's clock (CPU time on the CPU, else wall time)."""
    reference_s: float
    """The reference's, on the same clock."""
    student_wall_s: float
    """The student's, in wall time (what the rounds cost the check's time limit)."""
    reference_wall_s: float
    """The reference's, in wall time."""

    @property
    def ratio(self) -> float:
        """How many times the reference's time the student's took."""
        return self.student_s / max(self.reference_s, 1e-12)


@dataclass(frozen=True)
class Stats:
    """What a set of rounds says."""

    ratio: float
    """The median of the per-round ratios."""
    spread: float
    """Interquartile range / median of those ratios."""
    student_s: float
    """Median seconds per call of the student's code."""
    reference_s: float
    """Median seconds per call of the reference."""
    rounds: int
    """How many rounds."""


def summarize(samples: Sequence[Sample]) -> Stats:
    """The median ratio, its spread and the median times of `samples`."""
    ratios = [s.ratio for s in samples]
    median = statistics.median(ratios)
    if len(ratios) >= 2:
        q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    else:
        q1 = q3 = median
    # Finite for the JSON results even in a degenerate case (a zero median).
    return Stats(median, min((q3 - q1) / median, 1e6) if median > 0 else 1e6,
                 statistics.median(s.student_s for s in samples),
                 statistics.median(s.reference_s for s in samples), len(samples))


def decide(samples: Sequence[Sample], threshold: float) -> bool | None:
    """True: fast enough; False: too slow; None: not decided yet.

    A sequential decision: the wider the margin, the fewer rounds it takes. Two rounds
    beyond EARLY_FACTOR, three beyond CLEAR_FACTOR, or from five rounds on, a median
    clear of the threshold by its spread (tuning.py says why each look is safe).
    """
    ratios = [s.ratio for s in samples]
    for rounds, factor in ((tuning.EARLY_ROUNDS, tuning.EARLY_FACTOR),
                           (tuning.CLEAR_ROUNDS, tuning.CLEAR_FACTOR)):
        if len(ratios) >= rounds:
            if max(ratios) * factor < threshold:
                return True
            if min(ratios) > threshold * factor:
                return False
    if len(ratios) >= tuning.MIN_ROUNDS:
        st = summarize(samples)
        band = 1 + max(tuning.MIN_BAND, tuning.BAND_K * st.spread)
        if st.ratio * band < threshold:
            return True
        if st.ratio / band > threshold:
            return False
    return None

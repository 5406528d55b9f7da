"""The numbers that shape a timing measurement: round length, rounds, re-checks, budgets."""
from __future__ import annotations

TARGET_ROUND_S = {"cpu": 0.025, "cuda": 0.015}
"""Time one side of a round aims at: long against a request's ~0.2 ms overhead."""
MAX_ITERATIONS = 256
"""The most calls one side makes in a round."""
KEEP_BYTES = {"cpu": 256 << 20, "cuda": 2 << 30}
"""Every call's output is held until its round ends: calls per round are capped to fit."""
RECHECKS_PER_ROUND = 3
"""Calls per round whose output is re-checked, picked after the round (at random)."""
KINK_NORM_RTOL = 0.05
"""A re-checked input gradient that misses elementwise still passes within this relative
2-norm error. Where a ReLU's input lies within float32 rounding of 0, the float32 code and
the float64 reference take different sides of the kink, and batch norm spreads that one
difference over its whole channel: the correct resnet_block failed about 1 check in 20
(24 of 5000 timed calls missed elementwise, by at most 1.2% in norm). A gradient not
computed, or computed for other inputs, is off by about 100%. Outputs stay strict: a
ReLU's value has no jump."""
MIN_ROUNDS = 5
"""Rounds before a decision from the median and its spread."""
CLEAR_ROUNDS = 3
"""Rounds after which every round far beyond the threshold decides at once."""
CLEAR_FACTOR = 1.6
"""After CLEAR_ROUNDS, every round beyond threshold * or / this factor decides at once."""
MAX_ROUNDS = 9
"""Rounds in one measurement."""
MAX_BATCHES = 3
"""The first measurement and up to two automatic re-measurements when undecided."""
MIN_BAND = 0.05
BAND_K = 1.5
"""Undecided while |log(median / threshold)| < log(1 + max(MIN_BAND, BAND_K * spread))."""
BUDGET_FRACTION = 0.5
"""The share of the check's time limit the measurement may use..."""
MAX_BUDGET_S = 12.0
"""...and never more than this many seconds."""
LOCK_WAIT_S = 300.0
"""How long a measurement waits for another one on the same machine before giving up."""

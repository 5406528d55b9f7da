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
FIRST_RECHECKS = 6
"""Calls re-checked in the first counted round: with the warm-up's one, the calibrating
round's three and the second counted round's three, a pass decided at the sequential
decision's first look (EARLY_ROUNDS) has had 13 calls re-checked, as many as the earliest
pass before it existed (three counted rounds) had."""
KINK_NORM_RTOL = 0.05
"""A re-checked input gradient that misses elementwise still passes within this relative
2-norm error. Where a ReLU's input lies within float32 rounding of 0, the float32 code and
the float64 reference take different sides of the kink, and batch norm spreads that one
difference over its whole channel: the correct resnet_block failed about 1 check in 20
(24 of 5000 timed calls missed elementwise, by at most 1.2% in norm). A gradient not
computed, or computed for other inputs, is off by about 100%. Outputs stay strict: a
ReLU's value has no jump."""
EARLY_ROUNDS = 2
EARLY_FACTOR = 2.0
"""The sequential decision's first look: after EARLY_ROUNDS counted rounds, when every one
lies beyond threshold / EARLY_FACTOR (fast) or threshold * EARLY_FACTOR (slow), that is the
verdict; a ratio nearer the limit goes on to the looks below (CLEAR_*, then the median).
Why it is safe: to be wrong, the two rounds (one of each order, student or reference first)
must both misread the ratio by more than 2x in the same direction. Measured on a 2-core
machine with two graders timing at once and no lock (benchmarks/timing_stability.py --jobs 2
--lock off, 8 exercises' solutions and loops, 272 measurements): the first two counted rounds
strayed together from their submission's median by 1.18x at most; a single counted round by
1.8x at most (0 of 557 beyond 2x; 17 beyond 1.6x: 14 of them one order of batch_norm's
1-call loop round, 2 a reference's slow first calls). Treating rounds as independent, the chance both exceed 2x is
under (3/557)^2, about 3e-5 per measurement (95% bound), no worse than the three-round look
below (17/557 beyond 1.6x, cubed: 3e-5). The calibrating round stays out of it: it read the
student up to 2.4x slow. From the first look, clear passes and fails take two counted rounds
instead of three; a ratio near the limit still gets five to fourteen."""
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

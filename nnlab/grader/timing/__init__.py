"""Timing checks: the student's callable against its torch reference, measured fairly."""
# How a measurement goes:
#
# - Only a submission whose correctness checks passed is timed (`TimingRequest.gate`).
# - Student code runs in the worker, `iterations` calls per request, watched for banned torch
#   functions (not aten ops: too costly; the reference pays for the same watch); the clock is
#   read here, in the grader, around the whole request. The reference runs here through the
#   very same loop code (`nnlab.wire.timed.time_loop`), with the same torch thread count (one,
#   on the CPU). On the CPU the clock is CPU time (the worker process's, read from the kernel
#   here; this thread's for the reference), so a busy machine does not decide; on a GPU it
#   is wall time around a device-wide synchronize (machine.py).
# - Every call gets an input no call has seen before: each round has fresh random pools,
#   and call i reads the window of the pool that starts i * step elements in (inputs.py,
#   pools.py). Caching results by input identity or content gains nothing.
# - Warm-up first; then rounds that interleave student and reference (the order alternates),
#   each with enough calls (tens of ms) that the request's overhead is negligible. The
#   verdict compares the median of the per-round ratios with the exercise's threshold for
#   the device; spread = interquartile range / median of those ratios (decide.py).
# - A sequential decision: a ratio far from the limit (beyond 2x either way in the first
#   two counted rounds) is decided there, a ratio near it gets the full protocol;
#   tuning.py says why that first look is safe, with the figures.
# - The worker runs only while it serves a timed request: between requests it is stopped
#   (SIGSTOP), so no thread of it can compute after its calls, nor disturb the reference.
#   On the CPU its clock covers everything it did while let run (measurement.py).
# - On Linux the grader writes each round's inputs into the stopped worker's memory and
#   reads the re-checked outputs back from it (process_vm_writev/readv, freezer.py): the
#   worker sees its inputs only once its timed request starts, and cannot touch its outputs
#   after it, even if it rewrote nnlab's own code. Elsewhere (and on CUDA) the timed request
#   carries only the seeds of its pools, which both sides draw inside their timed span
#   (torch draws the same values for a seed on one device; the grader checks it), so no
#   input exists before the clock starts. The request also commits to a digest of every
#   output it holds (`nnlab.wire.timed.digest`), and the picked outputs, fetched by a later
#   request, must match theirs, so none can be computed after the timed request. Both sides
#   draw and digest alike; what that costs, measured here, is taken out of both times.
# - Every call's output (and input grads) is held; once both sides have stopped, a few
#   calls are picked at random here and re-checked against a float64 reference, so a fast
#   but wrong answer fails and no call can know whether it will be looked at. An input
#   gradient may miss elementwise by a ReLU kink, not by more than KINK_NORM_RTOL in norm
#   (recheck.py).
# - A timed call must return exactly a torch.Tensor (no lazy subclass).
# - Too noisy to decide: measure again (a bounded number of times), then `pytest.skip` with
#   the reason. Never a silent pass or fail.
# - At most one measurement per CPU core runs at once on one machine (fcntl locks in the
#   temp folder, one per core), so `nnlab grade --workers N` with N above the core count
#   cannot time two submissions on one core. The environment variable NNLAB_TIMING_LOCK
#   changes that ('machine': one at a time; a number; 'off'); machine.py has the figures
#   that show concurrent measurements on separate cores leave the verdicts as they were.
from __future__ import annotations

# The check API re-exports this package's API and this package uses the check API's
# assertions: loading the check API first keeps that cycle in one order, whichever of the
# two a program imports first.
import nnlab.grader.checks  # noqa: F401 - loaded first, for the cycle above
from nnlab.grader.timing.api import Timed, TimingRequest, assert_fast
from nnlab.grader.timing.inputs import TimedInput, binary, integers, normal
from nnlab.grader.timing.machine import (LOCK_SETTING, LockBusy, describe_device, lock_path,
                                         lock_slots, machine_lock, timing_threads)

__all__ = ["Timed", "TimingRequest", "TimedInput", "normal", "integers", "binary", "assert_fast",
           "machine_lock", "describe_device", "timing_threads", "lock_path", "lock_slots",
           "LOCK_SETTING", "LockBusy"]

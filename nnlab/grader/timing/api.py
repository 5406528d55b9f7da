"""The timing check a check file calls: `assert_fast`, with what to time in `Timed` and `TimingRequest`."""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pytest
import torch

from nnlab.errors import StudentCodeError, WorkerFault
from nnlab.grader.checks.asserts import CheckFailed
from nnlab.grader.checks.context import GradingContext
from nnlab.results import format_seconds
from nnlab.grader.session import Remote, WorkerSession, remote_session
from nnlab.grader.timing import tuning
from nnlab.grader.timing.decide import Sample, Stats, decide, summarize
from nnlab.grader.timing.machine import (LockBusy, cap_cuda_memory, cuda_memory_fraction,
                                          describe_device, machine_lock, timing_threads)
from nnlab.grader.timing.measurement import Measurement
from nnlab.grader.timing.pools import Plan
from nnlab.grader.timing.recheck import Checker
from nnlab.results import Outcome, TimingInfo
from nnlab.wire.codec import OnDevice


@dataclass(frozen=True)
class Timed:
    """What to time on one device; a request's `make(device)` returns it."""

    build: Callable[[Remote], Remote]
    """From the submission's root, the student's callable on the device, in the same state
    as `reference` (e.g. `load_reference_state` then `.to(device)`)."""
    reference: Callable[..., Any]
    """The torch reference: an nn.Module (on the CPU; moved to the device here) or a function."""
    args: Sequence[Any]
    """TimedInput (a fresh random tensor for every call) or plain values, in call order."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of every call."""
    rtol: float | None = None
    """Relative tolerance of the re-check of timed calls (default: by dtype), for the sizes
    used on this device."""
    atol: float | None = None
    """Absolute tolerance of the re-check (default: by dtype), for the sizes used on this device."""


@dataclass(frozen=True)
class TimingRequest:
    """A timing check: what to measure, how to name it, and what must pass first."""

    make: Callable[[str], Timed]
    """Given the device ('cpu' or 'cuda'), the callables and inputs sized for it."""
    what: str
    """The student's side as the message names it, e.g. "MyLinear forward"."""
    reference_name: str
    """The reference as the message names it, e.g. "nn.Linear"."""
    backward: bool = False
    """Each call also back-propagates a fixed random grad_output; the grads of inputs
    marked requires_grad are re-checked."""
    gate: tuple[str, ...] | None = None
    """Test ids of the correctness checks that must have passed (default: every other check)."""
    expected: Callable[..., Any] | None = None
    """Recomputes a timed call for the re-check (default: the reference in float64)."""


def _gate(grading: GradingContext, gate: Sequence[str] | None) -> None:
    """Fails unless the correctness checks in `gate` (default: all others) passed this run."""
    names = {c.test_id: c.name for c in grading.exercise.checks}
    if gate is not None:
        unknown = [t for t in gate if t not in names]
        if unknown:
            raise ValueError(f"the timing check of {grading.exercise.id} gates on checks that do "
                             f"not exist: {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    if grading.board is None:  # run outside nnlab's runner: the re-check of timed outputs remains
        return
    outcomes = grading.board.outcomes
    wanted = list(gate) if gate is not None else [c.test_id for c in grading.exercise.checks
                                                 if not c.is_timing]
    failed = [t for t in wanted if t in outcomes and outcomes[t] is not Outcome.PASSED]
    if failed:
        listed = "; ".join(f"'{names.get(t, t)}'" for t in failed[:4])
        if len(failed) > 4:  # the count and the names must agree: say how many are not named
            listed += f"; and {len(failed) - 4} more"
        counted = "1 check it depends on" if len(failed) == 1 else f"{len(failed)} checks it depends on"
        raise CheckFailed(f"not timed: speed counts only once the code is correct, and "
                          f"{counted} did not pass: {listed}")


def _worker_device(session: WorkerSession, wanted: str) -> tuple[str, str]:
    """('cuda' or 'cpu', why CUDA is not used): the worker itself must reach the GPU."""
    if wanted != "cuda":
        return "cpu", ""
    try:
        handles = session.store([OnDevice(torch.zeros(1), "cuda")])
        session.store([], release=handles)
        # Both sides of the measurement are capped, so one check cannot take the whole card.
        fraction = cuda_memory_fraction()
        cap_cuda_memory(fraction)
        session.eval("torch.cuda.set_per_process_memory_fraction(f)", "the GPU memory cap", f=fraction)
        return "cuda", ""
    except StudentCodeError as error:
        return "cpu", f"CUDA is present but unusable in the confined worker ({str(error)[:160]})"


def assert_fast(grading: GradingContext, sub: Remote, request: TimingRequest) -> TimingInfo:
    """Passes when the student's callable is at most `threshold` times slower than the reference.

    The threshold is the exercise's for the device measured. Raises CheckFailed when too
    slow or wrong, pytest.skip when too noisy to decide; the TimingInfo it returns is also
    recorded for the check's result.
    """
    _gate(grading, request.gate)
    wanted = grading.device if grading.device in ("cpu", "cuda") else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        wanted = "cpu"
    session = remote_session(sub)
    spare: WorkerSession | None = None
    try:
        with machine_lock():
            # Waiting for another measurement is not the student's time.
            session.restart_clock()
            try:
                device, note = _worker_device(session, wanted)
            except WorkerFault as error:  # the worker died reaching for the GPU
                spare = session = WorkerSession.for_exercise(
                    grading.launcher, grading.exercise, grading.source, grading.filename,
                    grading.check_seed)
                device, note = "cpu", f"CUDA is present but the worker could not use it ({error})"
                sub = session.root
            note = _cpu_instead_of_gpu(grading, device, note)
            case = request.make(device)
            measured = _measure(grading, session, case.build(sub), case, request, device, note)
            if grading.board is not None:
                grading.board.timings[grading.test_id] = measured.info
            return _verdict(measured)
    except LockBusy as busy:
        pytest.skip(f"not timed: {busy}; grade this submission again")
    finally:
        if spare is not None:
            spare.close()


NO_GPU_NOTE = ("timed on the CPU against the CPU limit: this exercise is timed on a GPU, and "
               "none was usable where it was graded (no GPU worker, or no CUDA there)")
"""Said in the timing's device (and so in the report) when a GPU-timed exercise ran elsewhere."""


def _cpu_instead_of_gpu(grading: GradingContext, device: str, note: str) -> str:
    """The measurement's note, saying so when an exercise meant for a GPU is timed on the CPU."""
    if device != "cpu" or not grading.exercise.gpu_timing:
        return note
    return f"{NO_GPU_NOTE} ({note})" if note else NO_GPU_NOTE


@dataclass(frozen=True)
class _Measured:
    """The outcome of a measurement, before it becomes a verdict."""

    info: TimingInfo
    """The figures, as the results record them."""
    verdict: bool | None
    """True: fast enough; False: too slow; None: undecided."""
    summary: str
    """The figures in words, for the message."""
    out_of_time: bool
    """The rounds did not fit in the check's time."""


@dataclass
class _Rounds:
    """The rounds of one measurement so far (filled in as they run)."""

    calibration: Sample
    """The calibrating round (it does not count, except when far too slow to fit)."""
    samples: list[Sample] = field(default_factory=list)
    """The counted rounds of the last batch."""
    verdict: bool | None = None
    """As `decide` says after the last round."""
    out_of_time: bool = False
    """The next round would not have fitted in the measurement's budget."""


def _measure(grading: GradingContext, session: WorkerSession, target: Remote, case: Timed,
             request: TimingRequest, device: str, note: str) -> _Measured:
    """The whole measurement on `device`, with torch's thread count set for it meanwhile."""
    threshold = grading.exercise.timing_thresholds[device]
    plan = Plan(list(case.args), dict(case.kwargs), request.backward, device, timing_threads(device))
    checker = Checker(case.reference, request.expected, plan, request.what, case.rtol, case.atol)
    local_reference = (copy.deepcopy(case.reference).to(device)
                       if isinstance(case.reference, torch.nn.Module) else case.reference)
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(plan.threads)
    try:
        m = Measurement(session, target, local_reference, plan, checker, grading.check_seed)
        m.start()
        try:
            rounds = _run_rounds(m, threshold, grading.exercise.check_seconds)
        finally:
            m.stop()
    finally:
        torch.set_num_threads(saved_threads)
    device_name = describe_device(device, plan.threads) + (
        "; CPU time" if m.worker_clock else "; wall time") + (
        "; inputs and re-checked outputs moved while the worker was stopped" if m.direct
        else "; re-checked outputs fetched by request") + (f"; {note}" if note else "")
    return _conclude(rounds, threshold, device_name, request)


def _run_rounds(m: Measurement, threshold: float, check_seconds: float) -> _Rounds:
    """Warm-up, calibration, then batches of interleaved rounds until decided or out of time."""
    budget = min(tuning.MAX_BUDGET_S, tuning.BUDGET_FRACTION * check_seconds)
    started = time.monotonic()
    target_s = tuning.TARGET_ROUND_S[m.plan.device]
    # Warm-up: one call each (also re-checked: a wrong answer fails before any timing),
    # then a calibrating round sized from it. Neither counts: the calibrating round reads
    # the student's side up to 2.7x slow (its worker's first many-call round maps fresh
    # memory for the outputs it holds), so it would only delay a pass.
    first = m.round(1, 1, True)
    n_s = _iterations(target_s, first.student_s, m.max_windows)
    n_r = _iterations(target_s, first.reference_s, m.max_windows)
    second = m.round(n_s, n_r, False)
    n_s = _iterations(target_s, second.student_s, m.max_windows)
    n_r = _iterations(target_s, second.reference_s, m.max_windows)
    rounds = _Rounds(second)
    for batch in range(tuning.MAX_BATCHES):
        rounds.samples = []
        for k in range(tuning.MAX_ROUNDS):
            projected = n_s * second.student_wall_s + n_r * second.reference_wall_s
            if time.monotonic() - started + projected > budget:
                rounds.out_of_time = True
                break
            opening = batch == 0 and k == 0
            rounds.samples.append(m.round(
                n_s, n_r, student_first=(k % 2 == 0),
                rechecks=tuning.FIRST_RECHECKS if opening else tuning.RECHECKS_PER_ROUND))
            rounds.verdict = decide(rounds.samples, threshold)
            if rounds.verdict is not None:
                break
        if rounds.verdict is not None or rounds.out_of_time:
            break
    return rounds


def _conclude(rounds: _Rounds, threshold: float, device_name: str,
              request: TimingRequest) -> _Measured:
    """The verdict and the figures the rounds support."""
    samples, verdict = rounds.samples, rounds.verdict
    rounds_text = "interleaved rounds"
    if verdict is None and rounds.out_of_time:
        # So slow that the rounds do not fit in the check's time: the calibrating round
        # counts too, and every round far beyond the threshold decides it.
        seen = [rounds.calibration, *samples]
        if min(s.ratio for s in seen) > threshold * tuning.CLEAR_FACTOR ** 2:
            verdict = False
            samples = seen
            rounds_text = "interleaved rounds, the calibrating one included"
    st: Stats = summarize(samples) if samples else summarize([rounds.calibration])
    info = TimingInfo(device=device_name, ratio=st.ratio, threshold=threshold, spread=st.spread,
                      student_s=st.student_s, reference_s=st.reference_s, rounds=st.rounds)
    summary = (f"{request.what} took {st.ratio:.2f}x the time of {request.reference_name} "
               f"(median of {st.rounds} {rounds_text}, spread {st.spread:.0%}; "
               f"{format_seconds(st.student_s)} vs {format_seconds(st.reference_s)} per call) "
               f"on {device_name}; the limit is {threshold:g}x")
    return _Measured(info, verdict, summary, rounds.out_of_time)


def _verdict(measured: _Measured) -> TimingInfo:
    """The measurement's figures when fast enough; else CheckFailed (too slow) or a skip."""
    if measured.verdict is True:
        return measured.info
    if measured.verdict is False:
        raise CheckFailed(f"too slow: {measured.summary}. Replace Python loops over rows, "
                          "pixels or elements by operations on whole tensors.")
    why = ("the measurement did not fit in the check's time" if measured.out_of_time
           else f"still too noisy after {tuning.MAX_BATCHES} measurements")
    pytest.skip(f"timing undecided ({why}): {measured.summary}. Grade again on a quieter machine.")


def _iterations(target_s: float, per_call_s: float, cap: int) -> int:
    return max(1, min(cap, int(target_s / max(per_call_s, 1e-7))))


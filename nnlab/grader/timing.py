"""Timing checks: the student's callable against its torch reference, measured fairly.

How a measurement goes:

- Only a submission whose correctness checks passed is timed (`gate`).
- Student code runs in the worker, `iterations` calls per request, watched for banned torch
  functions (not aten ops: too costly; the reference pays for the same watch); the clock is
  read here, in the grader, around the whole request. The reference runs here through the
  very same loop code (`nnlab.wire.timed.time_loop`), with the same torch thread count (one, on
  the CPU). On the CPU the clock is CPU time (the worker process's, read from the kernel
  here; this thread's for the reference), so a busy machine does not decide; on a GPU it
  is wall time around a device-wide synchronize.
- Every call gets an input no call has seen before: each round has fresh random pools,
  and call i reads the window of the pool that starts i * step elements in. Caching
  results by input identity or content gains nothing.
- Warm-up first; then rounds that interleave student and reference (the order alternates),
  each with enough calls (tens of ms) that the request's overhead is negligible. The
  verdict compares the median of the per-round ratios with the exercise's threshold for
  the device; spread = interquartile range / median of those ratios.
- The worker runs only while it serves a timed request: between requests it is stopped
  (SIGSTOP), so no thread of it can compute after its calls, nor disturb the reference.
  On the CPU its clock covers everything it did while let run.
- On Linux the grader writes each round's inputs into the stopped worker's memory and
  reads the re-checked outputs back from it (process_vm_writev/readv, nnlab.grader.freezer):
  the worker sees its inputs only once its timed request starts, and cannot touch its
  outputs after it, even if it rewrote nnlab's own code. Elsewhere (and on CUDA) the
  timed request carries only the seeds of its pools, which both sides draw inside their
  timed span (torch draws the same values for a seed on one device; the grader checks it),
  so no input exists before the clock starts. The request also commits to a digest of
  every output it holds (`worker.digest`), and the picked outputs, fetched by a later
  request, must match theirs, so none can be computed after the timed request. Both sides
  draw and digest alike; what that costs, measured here, is taken out of both times.
- Every call's output (and input grads) is held; once both sides have stopped, a few
  calls are picked at random here and re-checked against a float64 reference, so a fast
  but wrong answer fails and no call can know whether it will be looked at. An input
  gradient may miss elementwise by a ReLU kink, not by more than KINK_NORM_RTOL in norm.
- A timed call must return exactly a torch.Tensor (no lazy subclass).
- Too noisy to decide: measure again (a bounded number of times), then `pytest.skip` with
  the reason. Never a silent pass or fail.
- Measurements never overlap on one machine (an fcntl lock in the temp folder), so
  `nnlab grade --workers N` cannot time two submissions against each other.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import pytest
import torch

from nnlab.errors import ProtocolViolation, StudentCodeError, WorkerFault
from nnlab.grader import freezer
from nnlab.grader.checks import CheckFailed, GradingContext, assert_close, assert_tensor
from nnlab.wire.codec import Handle, OnDevice
from nnlab.results import Outcome, TimingInfo
from nnlab.grader.session import Remote, WorkerSession, remote_session
from nnlab.wire.timed import HandleTable, LoopRequest, draw_pool, time_loop
from nnlab.wire.timed import digest as worker_digest
from nnlab.wire.tracing import BannedTrace

__all__ = ["Timed", "TimedInput", "normal", "integers", "binary", "assert_fast",
           "machine_lock", "describe_device"]

# -- tuning -----------------------------------------------------------------------------
TARGET_ROUND_S = {"cpu": 0.025, "cuda": 0.015}
"""Time one side of a round aims at: long against a request's ~0.2 ms overhead."""
MAX_ITERATIONS = 256
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
CLEAR_FACTOR = 1.6
"""After CLEAR_ROUNDS, every round beyond threshold * or / this factor decides at once."""
MAX_ROUNDS = 9
MAX_BATCHES = 3
"""The first measurement and up to two automatic re-measurements when undecided."""
MIN_BAND = 0.05
BAND_K = 1.5
"""Undecided while |log(median / threshold)| < log(1 + max(MIN_BAND, BAND_K * spread))."""
BUDGET_FRACTION = 0.5
MAX_BUDGET_S = 12.0
LOCK_WAIT_S = 300.0
_STEP_PRIMES = (61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113)


# -- inputs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TimedInput:
    """A tensor argument of the timed call, drawn fresh for every call."""

    shape: tuple[int, ...]
    kind: str = "normal"
    """'normal' (times `scale`), 'integers' (in [0, high)) or 'binary' (0./1. floats)."""
    scale: float = 1.0
    high: int = 2
    dtype: torch.dtype = torch.float32
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
    return TimedInput(tuple(shape), "normal", scale=scale, dtype=dtype, requires_grad=requires_grad)


def integers(*shape: int, high: int) -> TimedInput:
    return TimedInput(tuple(shape), "integers", high=high, dtype=torch.int64)


def binary(*shape: int, dtype: torch.dtype = torch.float32) -> TimedInput:
    return TimedInput(tuple(shape), "binary", dtype=dtype)


# -- the machine ------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "cpu"


def describe_device(device: str, threads: int | None = None) -> str:
    """The device a timing ran on, named for the report: model, torch, CUDA, threads."""
    threads = torch.get_num_threads() if threads is None else threads
    if device == "cuda":
        return (f"cuda: {torch.cuda.get_device_name()} (torch {torch.__version__}, "
                f"CUDA {torch.version.cuda})")
    return (f"cpu: {_cpu_model()} (torch {torch.__version__}, {threads} "
            f"thread{'s' if threads != 1 else ''})")


def timing_threads(device: str) -> int:
    """torch's thread count for a measurement, the same in the worker and here.

    On the CPU, one thread: a ratio of single-core efficiency is the same on a laptop and
    on a 64-core server (so one threshold fits both), and on a busy machine two
    single-threaded loops are slowed alike, while a multi-threaded reference stalls at
    every barrier when one of its threads loses its core, which would flatter a Python
    loop. On a GPU the CPU only launches kernels: the grader's own setting.
    """
    return 1 if device == "cpu" else torch.get_num_threads()


class LockBusy(Exception):
    """Another measurement held the machine for longer than we are willing to wait."""


def lock_path() -> str:
    """The file every grader process on this machine locks (flock) while it measures."""
    return os.path.join(tempfile.gettempdir(), "nnlab-timing.lock")


@contextlib.contextmanager
def machine_lock(timeout_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One timing measurement at a time on this machine, across grader processes."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; measurements are not serialized there
        yield
        return
    path = lock_path()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # created by another user without write access for us
        fd = os.open(path, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockBusy(f"another timing measurement held the machine for "
                                   f"{timeout_s:g} s") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class _ProcessClock:
    """The CPU time of another process (all its threads, exited ones too), read here.

    The kernel keeps it; the worker cannot forge it. On the CPU this is the measure: a
    busy machine (other graders, other tests) preempts both sides at random and inflates
    wall time by whole scheduler slices, but CPU time counts only the work done.
    """

    def __init__(self, pid: int) -> None:
        import ctypes
        import ctypes.util

        self._ctypes = ctypes
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        clock_id = ctypes.c_int()
        error = libc.clock_getcpuclockid(int(pid), ctypes.byref(clock_id))
        if error:
            raise OSError(error, os.strerror(error))
        self._gettime = libc.clock_gettime
        self._id = clock_id.value

        class _Timespec(ctypes.Structure):
            _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]

        self._ts = _Timespec()
        self()  # fails here, not mid-measurement, where the clock cannot be read

    def __call__(self) -> float:
        if self._gettime(self._id, self._ctypes.byref(self._ts)):
            raise OSError(self._ctypes.get_errno(), "clock_gettime on the worker's CPU clock")
        return self._ts.tv_sec + self._ts.tv_nsec * 1e-9


def _worker_clock(session: WorkerSession, device: str) -> _ProcessClock | None:
    """The worker's CPU clock for a CPU measurement; None: wall time (CUDA, or no such clock)."""
    if device != "cpu" or session.process is None:
        return None
    try:
        return _ProcessClock(session.process.pid)
    except (OSError, AttributeError, TypeError):  # not Linux, or the clock is refused
        return None


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


# -- the gate ---------------------------------------------------------------------------
def _gate(grading: GradingContext, request: pytest.FixtureRequest,
          gate: Sequence[str] | None) -> None:
    """Fails unless the correctness checks in `gate` (default: all others) passed this run."""
    verdicts = None
    for plugin in request.config.pluginmanager.get_plugins():
        found = getattr(plugin, "verdicts", None)
        if isinstance(found, dict):
            verdicts = found
    if verdicts is None:  # run outside nnlab's runner: the re-check of timed outputs remains
        return
    names = {c.test_id: c.name for c in grading.exercise.checks}
    wanted = list(gate) if gate is not None else [c.test_id for c in grading.exercise.checks
                                                 if not c.is_timing]
    failed = [t for t in wanted if t in verdicts
              and getattr(verdicts[t], "outcome", None) is not Outcome.PASSED]
    if failed:
        listed = "; ".join(f"'{names.get(t, t)}'" for t in failed[:4])
        raise CheckFailed(f"not timed: speed counts only once the code is correct, and "
                          f"{len(failed)} check(s) it depends on did not pass: {listed}")


# -- one side of the measurement ----------------------------------------------------------
@dataclass
class _Plan:
    args: list[Any]
    """TimedInput or plain values, in call order."""
    kwargs: dict[str, Any]
    backward: bool
    device: str
    threads: int


class _Pools:
    """One round's fresh random pools: the same values for the worker and the reference.

    Each is drawn from its own fresh seed (`draws`), so a side that receives only the seed
    draws the very same values on the same device.
    """

    def __init__(self, plan: _Plan, windows: int, rng: random.Random) -> None:
        inputs = [a for a in plan.args if isinstance(a, TimedInput)]
        self.windows = windows
        self.draws = [t.draw_spec(t.numel + t.step * (windows - 1), rng.getrandbits(62),
                                  plan.device) for t in inputs]
        self.on_device = [draw_pool(*d[1:]) for d in self.draws]
        self.cpu = [t.cpu() for t in self.on_device]

    def specs(self, plan: _Plan, bases: Sequence[Any]) -> list[Any]:
        out, k = [], 0
        for a in plan.args:
            if isinstance(a, TimedInput):
                out.append(["window", bases[k], list(a.shape), a.step, a.requires_grad and plan.backward])
                k += 1
            else:
                out.append(["value", a])
        return out

    def window(self, plan: _Plan, index: int) -> list[Any]:
        """The pristine CPU arguments of call `index`."""
        out, k = [], 0
        for a in plan.args:
            if isinstance(a, TimedInput):
                start = index * a.step
                out.append(self.cpu[k][start:start + a.numel].view(a.shape).clone())
                k += 1
            else:
                out.append(a)
        return out


def _to64(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.double()
    return x


class _Checker:
    """Recomputes timed calls in float64 on the CPU, from pristine copies of their inputs."""

    def __init__(self, reference: Callable[..., Any], expected: Callable[..., Any] | None,
                 plan: _Plan, what: str, rtol: float | None, atol: float | None) -> None:
        if expected is not None:
            self.fn = expected
        elif isinstance(reference, torch.nn.Module):
            self.fn = copy.deepcopy(reference).to("cpu").double()
        else:
            self.fn = reference
        self.plan, self.what, self.rtol, self.atol = plan, what, rtol, atol

    def check(self, kept: Any, pools: _Pools, grad_output: torch.Tensor | None) -> None:
        what = f"{self.what} on the timed inputs"
        if not isinstance(kept, list) or not kept:
            raise ProtocolViolation("the timed outputs did not come back")
        for item in kept:
            if not (isinstance(item, dict) and isinstance(item.get("index"), int)
                    and 0 <= item["index"] < pools.windows):
                raise ProtocolViolation("the timed outputs came back malformed")
            args = [_to64(a) for a in pools.window(self.plan, item["index"])]
            leaves = [a for a, spec in zip(args, self.plan.args)
                      if isinstance(spec, TimedInput) and spec.requires_grad and self.plan.backward]
            for leaf in leaves:
                leaf.requires_grad_(True)
            with torch.enable_grad() if self.plan.backward else torch.no_grad():
                expected = self.fn(*args, **self.plan.kwargs)
                got = assert_tensor(item.get("output"), f"{what}: output")
                assert_close(got, expected.detach().to(got.dtype), f"{what}: output",
                             family="timed inputs", rtol=self.rtol, atol=self.atol)
                if not leaves:
                    continue
                grads = torch.autograd.grad([expected], leaves, [grad_output.double()])
            got_grads = item.get("grads")
            if not isinstance(got_grads, list) or len(got_grads) != len(leaves):
                raise CheckFailed(f"{what}: the input gradients did not come back")
            for k, (g, e) in enumerate(zip(got_grads, grads)):
                if g is None:
                    raise CheckFailed(f"{what}: no gradient reached input {k}")
                g = assert_tensor(g, f"{what}: gradient of input {k}")
                try:
                    assert_close(g, e.to(g.dtype), f"{what}: gradient of input {k}",
                                 family="timed inputs", rtol=self.rtol, atol=self.atol)
                except CheckFailed:
                    if not _near_in_norm(g, e):
                        raise


def _near_in_norm(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """Whether `got` is within KINK_NORM_RTOL of `expected` in relative 2-norm."""
    if got.shape != expected.shape:
        return False
    error = torch.linalg.vector_norm(got.double() - expected.double())
    scale = torch.linalg.vector_norm(expected.double())
    return bool(torch.isfinite(error)) and float(error) <= KINK_NORM_RTOL * float(scale)


def _held_name(k: int) -> str:
    """What the k-th tensor held for a timed call is: its output, then its input grads."""
    return "output" if k == 0 else f"gradient of input {k - 1}"


def _held_calls(reply: dict[str, Any], picks: Sequence[int], pid: int,
                shapes: Sequence[tuple[int, ...]], what: str) -> list[dict[str, Any]]:
    """The picked calls' output and input grads, read from the stopped worker's memory.

    `shapes`: the reference's output shape, then its input grads'. A tensor of another
    shape fails here, before anything is read: the grader reads no more than it expects.
    """
    items = []
    for index in picks:
        try:
            call = reply["where"][index]
            if not isinstance(call, list):
                raise freezer.UnreachableMemory("its description was malformed")
            for k, (w, shape) in enumerate(zip(call, shapes)):
                if isinstance(w, list) and len(w) == 4 and isinstance(w[1], list) \
                        and tuple(w[1]) != tuple(shape):
                    got = tuple(w[1]) if all(isinstance(d, int) for d in w[1]) else "malformed"
                    raise CheckFailed(f"{what} on the timed inputs: {_held_name(k)}: "
                                      f"expected shape {tuple(shape)}, got {got}")
            tensors = [None if w is None else freezer.read_tensor(pid, w) for w in call]
            if not tensors or tensors[0] is None:
                raise freezer.UnreachableMemory("it is not a plain CPU tensor")
        except freezer.UnreachableMemory as error:
            raise CheckFailed(f"the output of timed call {index} could not be read from the "
                              f"stopped worker: {error}") from None
        items.append({"index": index, "output": tensors[0], "grads": tensors[1:]})
    return items


def _fetched_calls(calls: Any, picks: Sequence[int]) -> list[dict[str, Any]]:
    """The picked calls as the worker sent them back on request (no memory reading here)."""
    if not (isinstance(calls, list) and len(calls) == len(picks)
            and all(isinstance(c, list) and c for c in calls)):
        raise ProtocolViolation("the timed outputs came back malformed")
    return [{"index": i, "output": c[0], "grads": c[1:]} for i, c in zip(picks, calls)]


def _same_digest(t: torch.Tensor, committed: Sequence[float], device: str) -> bool:
    """Whether `committed` is `worker_digest(t)`. Computed on the device the worker used,
    with the same kernels, so an honest digest agrees to the last bit or nearly: the
    tolerance (1e-6 of the L1 norm) is far below what any change of the values moves."""
    got = [float(v) for v in worker_digest(t.to(device))]
    scale = abs(got[0]) if math.isfinite(got[0]) else 0.0
    return all(g == c or (math.isnan(g) and math.isnan(c)) or abs(g - c) <= 1e-6 * scale
               for g, c in zip(got, committed))


def _assert_same_inputs(pools: _Pools, drawn: Sequence[Sequence[float]], device: str) -> None:
    """Skips the check unless the worker drew the pools this grader drew from the same seeds.

    torch draws the same values for one seed in every process on one device, so a mismatch
    is a broken promise of the platform (or a worker that lies); in either case the values
    it returned cannot be judged, and failing an honest submission is the worst outcome.
    """
    if len(drawn) != len(pools.on_device) or not all(
            _same_digest(t, d, device) for t, d in zip(pools.on_device, drawn)):
        pytest.skip("timing undecided: the worker's random inputs differ from the grader's "
                    "for the same seeds on this device; grade again, and report it if it stays")


def _assert_committed(held: Sequence[dict[str, Any]], digests: Sequence[Sequence[Any]],
                      device: str) -> None:
    """Fails unless each fetched call's tensors match the digests its timed request sent.

    Fetched by a later request, an output could have been computed only then (the worker
    runs student code while it serves any request); its digest, committed when the timed
    request returned, could not have been right without its values.
    """
    for item in held:
        index = item["index"]
        committed = digests[index]
        tensors = [item["output"], *item["grads"]]
        if len(tensors) != len(committed):
            raise ProtocolViolation("the timed outputs came back malformed")
        for k, (t, d) in enumerate(zip(tensors, committed)):
            if (t is None) != (d is None):
                raise ProtocolViolation("the timed outputs came back malformed")
            if t is None:
                continue
            t = assert_tensor(t, f"the output of timed call {index}")
            if not _same_digest(t, d, device):
                raise CheckFailed(f"the {_held_name(k)} of timed call {index} was not the one "
                                  "it returned while timed: its values were changed or computed "
                                  "after the timed call")


@dataclass
class _Sample:
    student_s: float
    """Seconds per call on the measurement's clock (CPU time on the CPU, else wall time)."""
    reference_s: float
    student_wall_s: float
    reference_wall_s: float

    @property
    def ratio(self) -> float:
        return self.student_s / max(self.reference_s, 1e-12)


class _Measurement:
    """Runs rounds; owns the worker session, the local loop and the pools.

    Between its requests the worker is stopped (SIGSTOP): no thread of it can run while
    the reference is measured, nor compute anything once its timed request is over. Where
    the system lets the grader reach the worker's memory (CPU tensors on Linux), the
    grader writes each round's inputs into it while it is stopped and reads the
    re-checked outputs back the same way, so the worker learns its inputs only inside the
    timed request and cannot touch its outputs after it. Elsewhere the inputs go by a
    request inside the timed span and the picked outputs come back by request.
    """

    def __init__(self, session: WorkerSession, target: Remote, reference: Callable[..., Any],
                 plan: _Plan, checker: _Checker, seed: int) -> None:
        self.session, self.target, self.reference = session, target, reference
        self.worker_clock = _worker_clock(session, plan.device)
        self.plan, self.checker = plan, checker
        self.local = HandleTable()
        self.local_trace = BannedTrace()
        """Empty: the reference runs under the same (idle) watch as the student's calls."""
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = random.Random(seed)
        self.grad_cpu: torch.Tensor | None = None
        self.grad_local: torch.Tensor | None = None
        self.grad_remote: Handle | None = None
        self.shapes: list[tuple[int, ...]] = []
        """The reference's output shape, then its input grads' (set by `_size`)."""
        self.digest_s = 0.0
        """What digesting one call's held tensors costs, on the measurement's clock."""
        self.stale: list[Handle] = []
        self.inputs = [a for a in plan.args if isinstance(a, TimedInput)]
        self.max_windows = min([MAX_ITERATIONS] + [t.distinct_rows for t in self.inputs])
        self.sized = False
        self.pid = session.process.pid if session.process is not None else None
        self.freezer = freezer.Freezer(self.pid)
        self.direct = plan.device == "cpu" and self.freezer.available \
            and freezer.memory_reachable(self.pid)
        """Inputs written into, and outputs read from, the stopped worker's memory."""
        self.buffers: list[Handle] = []
        self.addresses: list[int] = []

    def _size(self, pools: _Pools) -> None:
        """Once, from one reference call: the grad_output (backward timing), how many calls'
        outputs fit in KEEP_BYTES (every call's output is held until the round ends) and,
        for direct access, the worker's input buffers."""
        if self.sized:
            return
        self.sized = True
        args = [a.to(self.plan.device) if isinstance(a, torch.Tensor) else a
                for a in pools.window(self.plan, 0)]
        with torch.no_grad():
            out = self.reference(*args, **self.plan.kwargs)
        per_call = out.numel() * out.element_size()
        self.shapes = [tuple(out.shape)] + [t.shape for t in self.inputs
                                            if t.requires_grad and self.plan.backward]
        if not self.direct:
            held = [out] + [torch.zeros(t.shape, dtype=t.dtype, device=self.plan.device)
                            for t in self.inputs if t.requires_grad and self.plan.backward]
            for t in held:  # its weights are made once, here as in the worker
                worker_digest(t)
            self.digest_s = min(self._clocked(lambda: [worker_digest(t) for t in held])
                                for _ in range(5))
        with self.freezer.thawed():
            if self.plan.backward:
                per_call += sum(t.numel * _itemsize(t.dtype) for t in self.inputs if t.requires_grad)
                self.grad_cpu = torch.randn(tuple(out.shape), generator=self.generator).to(out.dtype)
                self.grad_local = self.grad_cpu.to(self.plan.device)
                self.grad_remote = self.session.store([self._send(self.grad_cpu)])[0]
            self.max_windows = max(1, min(self.max_windows,
                                          KEEP_BYTES[self.plan.device] // max(per_call, 1)))
            if self.direct:
                sizes = [t.numel + t.step * (self.max_windows - 1) for t in self.inputs]
                self.buffers = self.session.store(
                    [torch.zeros(n, dtype=t.dtype) for n, t in zip(sizes, self.inputs)])
                where = self.session.request(
                    "eval", "preparing the timing inputs",
                    expression="[t.data_ptr() for t in buffers]", bindings={"buffers": self.buffers})
                if not (isinstance(where, list) and len(where) == len(self.buffers)
                        and all(isinstance(a, int) and a > 0 for a in where)):
                    raise ProtocolViolation("the worker did not say where its timing inputs are")
                self.addresses = where

    def _clocked(self, work: Callable[[], Any]) -> float:
        """Seconds `work` takes here, on the clock the measurement uses."""
        _sync(self.plan.device)
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        work()
        _sync(self.plan.device)
        return time.thread_time() - cpu0 if self.worker_clock else time.perf_counter() - wall0

    def _send(self, t: torch.Tensor) -> Any:
        return OnDevice(t, "cuda") if self.plan.device == "cuda" else t

    def start(self) -> None:
        self.freezer.freeze()

    def stop(self) -> None:
        self.freezer.thaw()

    def round(self, n_student: int, n_reference: int, student_first: bool) -> _Sample:
        windows = max(n_student, n_reference)
        pools = _Pools(self.plan, windows, self.rng)
        self._size(pools)
        order = ("student", "reference") if student_first else ("reference", "student")
        cpu: dict[str, float] = {}
        wall: dict[str, float] = {}
        reply: dict[str, Any] = {}
        for side in order:
            if side == "student":
                reply, cpu[side], wall[side] = self._student(pools, n_student)
            else:
                cpu[side], wall[side] = self._reference(pools, n_reference)
        if not self.direct:
            # Both sides drew their pools and digested them and every output inside their
            # timed span: the same work, which only dilutes the ratio. Take out what it
            # costs here, the least of a few tries, so never more than it costs.
            drawing_s = min(self._clocked(lambda: [worker_digest(draw_pool(*d[1:]))
                                                   for d in pools.draws]) for _ in range(2))
            for side, n in (("student", n_student), ("reference", n_reference)):
                overhead = drawing_s + n * self.digest_s
                cpu[side] = max(cpu[side] - overhead, 0.1 * cpu[side])
        # Both clocks have stopped and the worker with them: only now are the calls to
        # re-check picked, so no call could know whether it would be looked at.
        picks = sorted(self.rng.sample(range(n_student), min(RECHECKS_PER_ROUND, n_student)))
        if self.direct:
            held = _held_calls(reply, picks, self.pid or 0, self.shapes, self.checker.what)
        else:
            with self.freezer.thawed():
                held = _fetched_calls(self.session.kept_outputs(reply["kept"], picks), picks)
            _assert_committed(held, reply["digests"], self.plan.device)
        self.checker.check(held, pools, self.grad_cpu)
        with self.freezer.thawed():  # the held outputs are dropped here, untimed
            self.session.store([], release=self.stale)
        return _Sample(cpu["student"] / n_student, cpu["reference"] / n_reference,
                       wall["student"] / n_student, wall["reference"] / n_reference)

    def _student(self, pools: _Pools, n: int) -> tuple[dict[str, Any], float, float]:
        """(reply, clock seconds, wall seconds) of the worker's `n` calls.

        On the CPU the clock is all the CPU time the worker spent while it was let run
        (background threads included; it is stopped before and after). On CUDA, wall
        time of the calls.
        """
        if self.direct:
            for pool, address in zip(pools.cpu, self.addresses):
                try:
                    freezer.write_tensor(self.pid or 0, address, pool)
                except freezer.UnreachableMemory as error:
                    raise CheckFailed(f"the timing inputs could not be written into the "
                                      f"stopped worker: {error}") from None
        clock = self.worker_clock
        cpu0 = clock() if clock else 0.0
        with self.freezer.thawed():
            if self.direct:
                bases: list[Any] = list(self.buffers)
            else:  # drawn inside the timed request, from seeds it alone receives
                bases = list(pools.draws)
            wall0 = time.perf_counter()
            reply = self.session.time_loop(
                self.target, pools.specs(self.plan, bases), self.plan.kwargs, n,
                backward=self.plan.backward, grad_output=self.grad_remote,
                threads=self.plan.threads, digests=not self.direct, traced=True)
            wall = time.perf_counter() - wall0
        cpu = clock() - cpu0 if clock else wall
        self.stale = [reply["kept"]._handle]
        if len(reply["where"]) != n:
            raise ProtocolViolation("the timing loop did not account for every call")
        if not self.direct:
            _assert_same_inputs(pools, reply["drawn"], self.plan.device)
        if reply["threads"] != self.plan.threads:
            raise CheckFailed(f"your code changed torch's thread count while it was "
                              f"timed ({self.plan.threads} -> {reply['threads']})")
        return reply, cpu, wall

    def _reference(self, pools: _Pools, n: int) -> tuple[float, float]:
        """(clock seconds, wall seconds) of the reference's `n` calls, here."""
        _sync(self.plan.device)
        cpu0 = time.thread_time()  # one torch thread: all the work is on this thread
        wall0 = time.perf_counter()
        # Without direct access the worker draws its pools inside its request: so does this.
        received = ([b.to(self.plan.device, copy=False) for b in pools.cpu] if self.direct
                    else list(pools.draws))
        time_loop(self.local, self.local_trace, self.reference, LoopRequest(
            pools.specs(self.plan, received), self.plan.kwargs, n, backward=self.plan.backward,
            grad_output=self.grad_local, digests=not self.direct, traced=True))
        wall = time.perf_counter() - wall0
        cpu = time.thread_time() - cpu0 if self.worker_clock else wall
        self.local.clear()  # the outputs it held, as the worker's are
        return cpu, wall


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


# -- deciding -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Stats:
    ratio: float
    spread: float
    student_s: float
    reference_s: float
    rounds: int


def _stats(samples: Sequence[_Sample]) -> _Stats:
    ratios = [s.ratio for s in samples]
    median = statistics.median(ratios)
    if len(ratios) >= 2:
        q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    else:
        q1 = q3 = median
    # Finite for the JSON results even in a degenerate case (a zero median).
    return _Stats(median, min((q3 - q1) / median, 1e6) if median > 0 else 1e6,
                  statistics.median(s.student_s for s in samples),
                  statistics.median(s.reference_s for s in samples), len(samples))


def _decide(samples: Sequence[_Sample], threshold: float) -> bool | None:
    """True: fast enough; False: too slow; None: not decided yet."""
    ratios = [s.ratio for s in samples]
    if len(ratios) >= CLEAR_ROUNDS:
        if max(ratios) * CLEAR_FACTOR < threshold:
            return True
        if min(ratios) > threshold * CLEAR_FACTOR:
            return False
    if len(ratios) >= MIN_ROUNDS:
        st = _stats(samples)
        band = 1 + max(MIN_BAND, BAND_K * st.spread)
        if st.ratio * band < threshold:
            return True
        if st.ratio / band > threshold:
            return False
    return None


# -- the device ---------------------------------------------------------------------------
def _open_session(grading: GradingContext, seed: int) -> WorkerSession:
    ex = grading.exercise
    return WorkerSession(grading.launcher, grading.source, grading.filename, list(ex.banned),
                         list(ex.banned_ops), ex.check_seconds, seed=seed)


def _worker_device(session: WorkerSession, wanted: str) -> tuple[str, str]:
    """('cuda' or 'cpu', why CUDA is not used): the worker itself must reach the GPU."""
    if wanted != "cuda":
        return "cpu", ""
    try:
        handles = session.store([OnDevice(torch.zeros(1), "cuda")])
        session.store([], release=handles)
        return "cuda", ""
    except StudentCodeError as error:
        return "cpu", f"CUDA is present but unusable in the confined worker ({str(error)[:160]})"


# -- the API --------------------------------------------------------------------------------
@dataclass
class Timed:
    """What to time on one device; a check's `make(device)` returns it."""

    build: Callable[[Remote], Remote]
    """From the submission's root, the student's callable on the device, in the same state
    as `reference` (e.g. `load_reference_state` then `.to(device)`)."""
    reference: Callable[..., Any]
    """The torch reference: an nn.Module (on the CPU; moved to the device here) or a function."""
    args: Sequence[Any]
    """TimedInput (a fresh random tensor for every call) or plain values, in call order."""
    kwargs: dict[str, Any] = field(default_factory=dict)


def assert_fast(grading: GradingContext, request: pytest.FixtureRequest, sub: Remote,
                make: Callable[[str], Timed], what: str, reference_name: str, *,
                backward: bool = False, gate: Sequence[str] | None = None,
                expected: Callable[..., Any] | None = None, rtol: float | None = None,
                atol: float | None = None) -> TimingInfo:
    """Passes when the student's callable is at most `threshold` times slower than the reference.

    `make(device)` ('cpu' or 'cuda') gives the callables and inputs, sized for that device.
    With `backward=True` each call also back-propagates a fixed random grad_output, and
    the grads of inputs marked requires_grad are re-checked. `expected` (default: the
    reference in float64) recomputes a timed call for the re-check. `gate` names the
    correctness checks that must have passed (default: every other check of the exercise).

    Raises CheckFailed when too slow or wrong, pytest.skip when too noisy to decide; the
    TimingInfo it returns is also attached to the report (`request.node`).
    """
    _gate(grading, request, gate)
    wanted = grading.device if grading.device in ("cpu", "cuda") else "cpu"
    if wanted == "cuda" and not torch.cuda.is_available():
        wanted = "cpu"
    session = remote_session(sub)
    try:
        with machine_lock():
            # Waiting for another measurement is not the student's time.
            session.restart_clock()
            try:
                device, note = _worker_device(session, wanted)
            except WorkerFault as error:  # the worker died reaching for the GPU
                session = _open_session(grading, grading.check_seed)
                request.addfinalizer(session.close)
                device, note = "cpu", f"CUDA is present but the worker could not use it ({error})"
                sub = session.root
            case = make(device)
            return _measure(grading, request, session, case.build(sub), case, what,
                            reference_name, device, note, backward, expected, rtol, atol)
    except LockBusy as busy:
        pytest.skip(f"not timed: {busy}; grade this submission again")


def _measure(grading: GradingContext, request: pytest.FixtureRequest, session: WorkerSession,
             target: Remote, case: Timed, what: str, reference_name: str, device: str,
             note: str, backward: bool, expected: Callable[..., Any] | None,
             rtol: float | None, atol: float | None) -> TimingInfo:
    threshold = grading.exercise.timing_thresholds[device]
    reference = case.reference
    plan = _Plan(list(case.args), dict(case.kwargs), backward, device, timing_threads(device))
    saved_threads = torch.get_num_threads()
    torch.set_num_threads(plan.threads)
    try:
        return _rounds(grading, request, session, target, reference, plan, what, reference_name,
                       threshold, note, expected, rtol, atol)
    finally:
        torch.set_num_threads(saved_threads)


def _rounds(grading: GradingContext, request: pytest.FixtureRequest, session: WorkerSession,
            target: Remote, reference: Callable[..., Any], plan: _Plan, what: str,
            reference_name: str, threshold: float, note: str,
            expected: Callable[..., Any] | None, rtol: float | None,
            atol: float | None) -> TimingInfo:
    device = plan.device
    checker = _Checker(reference, expected, plan, what, rtol, atol)
    local_reference = (copy.deepcopy(reference).to(device) if isinstance(reference, torch.nn.Module)
                       else reference)
    m = _Measurement(session, target, local_reference, plan, checker, grading.check_seed)
    m.start()
    try:
        budget = min(MAX_BUDGET_S, BUDGET_FRACTION * grading.exercise.check_seconds)
        started = time.monotonic()
        target_s = TARGET_ROUND_S[device]

        # Warm-up: one call each (also re-checked: a wrong answer fails before any timing),
        # then a calibrating round sized from it. Neither counts.
        first = m.round(1, 1, True)
        n_s = _iterations(target_s, first.student_s, m.max_windows)
        n_r = _iterations(target_s, first.reference_s, m.max_windows)
        second = m.round(n_s, n_r, False)
        n_s = _iterations(target_s, second.student_s, m.max_windows)
        n_r = _iterations(target_s, second.reference_s, m.max_windows)

        device_name = describe_device(device, plan.threads) + (
            "; CPU time" if m.worker_clock else "; wall time") + (
            "; inputs and re-checked outputs moved while the worker was stopped" if m.direct
            else "; re-checked outputs fetched by request") + (f"; {note}" if note else "")
        verdict: bool | None = None
        samples: list[_Sample] = []
        out_of_time = False
        for _batch in range(MAX_BATCHES):
            samples = []
            for k in range(MAX_ROUNDS):
                projected = n_s * second.student_wall_s + n_r * second.reference_wall_s
                if time.monotonic() - started + projected > budget:
                    out_of_time = True
                    break
                samples.append(m.round(n_s, n_r, student_first=(k % 2 == 0)))
                verdict = _decide(samples, threshold)
                if verdict is not None:
                    break
            if verdict is not None or out_of_time:
                break
    finally:
        m.stop()

    rounds_text = "interleaved rounds"
    if verdict is None and out_of_time:
        # So slow that the rounds do not fit in the check's time: the calibrating round
        # counts too, and every round far beyond the threshold decides it.
        seen = [second, *samples]
        if min(s.ratio for s in seen) > threshold * CLEAR_FACTOR ** 2:
            verdict = False
            samples = seen
            rounds_text = "interleaved rounds, the calibrating one included"
    st = _stats(samples) if samples else _stats([second])
    info = TimingInfo(device=device_name, ratio=st.ratio, threshold=threshold, spread=st.spread,
                      student_s=st.student_s, reference_s=st.reference_s, rounds=st.rounds)
    request.node.nnlab_timing_info = info
    summary = (f"{what} took {st.ratio:.2f}x the time of {reference_name} (median of "
               f"{st.rounds} {rounds_text}, spread {st.spread:.0%}; {_fmt_s(st.student_s)} "
               f"vs {_fmt_s(st.reference_s)} per call) on {device_name}; the limit is "
               f"{threshold:g}x")
    if verdict is True:
        return info
    if verdict is False:
        raise CheckFailed(f"too slow: {summary}. Replace Python loops over rows, pixels or "
                          "elements by operations on whole tensors.")
    why = ("the measurement did not fit in the check's time" if out_of_time
           else f"still too noisy after {MAX_BATCHES} measurements")
    pytest.skip(f"timing undecided ({why}): {summary}. Grade again on a quieter machine.")


def _iterations(target_s: float, per_call_s: float, cap: int) -> int:
    return max(1, min(cap, int(target_s / max(per_call_s, 1e-7))))


def _fmt_s(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} us"

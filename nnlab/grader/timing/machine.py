"""The machine a measurement runs on: its name, its thread count, its lock and its clocks."""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from typing import Iterator

import torch

from nnlab.grader.timing import tuning
from nnlab.worker.sandbox import syscalls


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


CUDA_MEMORY_SETTING = "NNLAB_CUDA_MEMORY_FRACTION"
"""The share of the GPU's memory each process of a CUDA timing may allocate (default 0.45:
the grader's reference and the student's worker together stay under the card). Lower it
when several Dask workers with GPU=1 share one card."""


def cuda_memory_fraction() -> float:
    """The cap from $NNLAB_CUDA_MEMORY_FRACTION, in (0, 1] (nnlab.settings checks it)."""
    from nnlab.settings import read_settings

    return read_settings("cuda_memory_fraction").cuda_memory_fraction


def cap_cuda_memory(fraction: float) -> None:
    """Caps this process's CUDA caching allocator: a check that allocates past it gets an
    out-of-memory error instead of starving the other checks on the card."""
    torch.cuda.set_per_process_memory_fraction(fraction)


class LockBusy(Exception):
    """Another measurement held the machine for longer than we are willing to wait."""


LOCK_SETTING = "NNLAB_TIMING_LOCK"
"""The environment variable that says how many timing measurements may run at once on one
machine: 'cores' (the default: one per CPU core this process may use), 'machine' (one at
a time), a number N (N at once) or 'off' (no lock).

Why one per core is safe: on the CPU each side's clock is its own CPU time and each side
runs one torch thread, so two measurements on two cores do not read each other's work.
Measured on a 2-core machine (benchmarks/timing_batch.py --runs 10 --workers 2, 41
submissions of fast, slow and cheating code): 0 unexpected verdicts of 410 and no flip
with the lock and without it, each submission's median ratio within the other setting's
run-to-run range (at most 15% apart, in either direction); benchmarks/timing_stability.py
--jobs 2 --lock off: 0 flips in 272 measurements. More measurements than cores would share a core's caches
and time slices, so they still wait."""


def lock_slots() -> int | None:
    """How many measurements may run at once here (LOCK_SETTING); None: no limit."""
    from nnlab.settings import read_settings

    slots = read_settings("timing_lock").timing_lock  # 'machine' is 1 there
    if slots == "cores":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1)
    return None if slots == "off" else slots


def lock_path(slot: int = 0) -> str:
    """The file a grader process on this machine locks (flock) while it measures: one per
    slot, slot 0 being the one every setting uses."""
    name = "nnlab-timing.lock" + (f".{slot}" if slot else "")
    return os.path.join(tempfile.gettempdir(), name)


def _open_slot(slot: int) -> int:
    try:
        return os.open(lock_path(slot), os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # created by another user without write access for us
        return os.open(lock_path(slot), os.O_RDONLY)


@contextlib.contextmanager
def machine_lock(timeout_s: float = tuning.LOCK_WAIT_S) -> Iterator[None]:
    """At most `lock_slots()` timing measurements at a time on this machine, across grader
    processes (one per core, unless LOCK_SETTING says otherwise)."""
    slots = lock_slots()
    try:
        import fcntl
    except ImportError:  # Windows: no flock; measurements are not serialized there
        slots = None
    if slots is None:
        yield
        return
    fds = [_open_slot(k) for k in range(slots)]
    try:
        deadline = time.monotonic() + timeout_s
        held = _take_a_slot(fds, deadline, timeout_s)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    finally:
        for fd in fds:
            os.close(fd)


def _take_a_slot(fds: list[int], deadline: float, timeout_s: float) -> int:
    """The first of `fds` this process could lock, tried in turn until `deadline`."""
    import fcntl

    while True:
        for fd in fds:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return fd
            except BlockingIOError:
                continue
        if time.monotonic() > deadline:
            raise LockBusy(f"another timing measurement held the machine for "
                           f"{timeout_s:g} s")
        time.sleep(0.02)


class ProcessClock:
    """The CPU time of another process (all its threads, exited ones too), read here.

    The kernel keeps it; the worker cannot forge it. On the CPU this is the measure: a
    busy machine (other graders, other tests) preempts both sides at random and inflates
    wall time by whole scheduler slices, but CPU time counts only the work done.
    """

    def __init__(self, pid: int) -> None:
        import ctypes

        self._ctypes = ctypes
        libc = syscalls.libc()  # loaded once (find_library ran ldconfig in a child each time)
        if libc is None:
            raise OSError("no C library to read another process's CPU clock from")
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
        seconds: float = self._ts.tv_sec + self._ts.tv_nsec * 1e-9  # ctypes fields read as Any
        return seconds


def worker_clock(pid: int | None, device: str) -> ProcessClock | None:
    """The worker's CPU clock for a CPU measurement; None: wall time (CUDA, or no such clock)."""
    if device != "cpu" or pid is None:
        return None
    try:
        return ProcessClock(pid)
    except (OSError, AttributeError, TypeError):  # not Linux, or the clock is refused
        return None


def sync(device: str) -> None:
    """Waits for the device's queued work (CUDA); nothing on the CPU."""
    if device == "cuda":
        torch.cuda.synchronize()

"""The machine a measurement runs on: its name, its thread count, its lock and its clocks."""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from typing import Iterator

import torch

from nnlab.grader.timing import tuning

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
def machine_lock(timeout_s: float = tuning.LOCK_WAIT_S) -> Iterator[None]:
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


class ProcessClock:
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

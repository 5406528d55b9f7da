"""Stopping a worker between its timed requests, and moving tensors in and out of it meanwhile."""
from __future__ import annotations

import contextlib
import ctypes
import math
import os
import signal
import time
from typing import Any, Iterator

import torch

from nnlab.wire import codec
from nnlab.worker.sandbox import syscalls

MAX_READ_BYTES = 256 << 20
"""The most one timed output may occupy; a larger claim is refused, not read."""
STOP_WAIT_S = 2.0


class UnreachableMemory(Exception):
    """The worker's memory could not be read or written where the worker said."""


class Freezer:
    """Stops (SIGSTOP) and continues (SIGCONT) one worker.

    A stopped worker runs nothing at all, background threads included: it can neither
    compute after its timed request has ended nor disturb the reference measured meanwhile.
    """

    def __init__(self, pid: int | None) -> None:
        self.pid = pid
        self.available = pid is not None and hasattr(signal, "SIGSTOP")
        self.frozen = False

    def freeze(self) -> None:
        if self.available and not self.frozen and self.pid is not None:
            self.frozen = _signal(self.pid, signal.SIGSTOP)
            if self.frozen:
                _wait_stopped(self.pid)

    def thaw(self) -> None:
        if self.frozen and self.pid is not None:
            _signal(self.pid, signal.SIGCONT)
            self.frozen = False

    @contextlib.contextmanager
    def thawed(self) -> Iterator[None]:
        """Running inside the block (for a request), stopped again after it."""
        self.thaw()
        try:
            yield
        finally:
            self.freeze()


def _signal(pid: int, signum: int) -> bool:
    try:
        # The worker leads its own process group (setsid): the group is the worker and
        # anything it managed to start.
        if os.getpgid(pid) == pid:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)
        return True
    except (ProcessLookupError, PermissionError):  # gone: its next request says how
        return False


def _wait_stopped(pid: int) -> None:
    """Returns once every thread of `pid` is stopped (Linux); signals are asynchronous."""
    tasks = f"/proc/{pid}/task"
    if not os.path.isdir(tasks):
        return
    deadline = time.monotonic() + STOP_WAIT_S
    while time.monotonic() < deadline:
        try:
            states = []
            for tid in os.listdir(tasks):
                with open(f"{tasks}/{tid}/stat", "rb") as f:
                    # "pid (comm) S ...": the comm may hold spaces and parentheses.
                    states.append(f.read().rsplit(b")", 1)[1].split()[0])
        except (OSError, IndexError):
            return  # the worker (or a thread) is gone
        if all(s in (b"T", b"t", b"Z", b"X") for s in states):
            return
        time.sleep(0.0002)


# -- reading memory ------------------------------------------------------------------------
class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


def _process_vm(name: str) -> Any:
    """libc's process_vm_readv or process_vm_writev (Linux), else None."""
    fn = getattr(syscalls.libc(), name, None)  # None off Linux, or where libc lacks it
    if fn is None:
        return None
    fn.restype = ctypes.c_ssize_t
    fn.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_ulong,
                   ctypes.POINTER(_IoVec), ctypes.c_ulong, ctypes.c_ulong]
    return fn


_READV = _process_vm("process_vm_readv")
_WRITEV = _process_vm("process_vm_writev")


def _transfer(fn: Any, what: str, pid: int, address: int, local_address: int, size: int) -> None:
    if fn is None:
        raise UnreachableMemory(f"this system cannot {what} another process's memory")
    local = _IoVec(ctypes.c_void_p(local_address), size)
    remote = _IoVec(ctypes.c_void_p(address), size)
    done = fn(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if done != size:
        err = ctypes.get_errno()
        why = os.strerror(err) if done < 0 else f"{done} of {size} bytes"
        raise UnreachableMemory(f"{what} {size} bytes at {address:#x}: {why}")


def _read(pid: int, address: int, buffer: bytearray) -> None:
    holder = (ctypes.c_char * len(buffer)).from_buffer(buffer)
    try:
        _transfer(_READV, "read", pid, address, ctypes.addressof(holder), len(buffer))
    finally:
        del holder  # releases the export so the bytearray can be used as a buffer again


def write_tensor(pid: int, address: int, tensor: torch.Tensor) -> None:
    """Copies a contiguous CPU tensor's bytes to `address` in the (stopped) worker."""
    tensor = tensor.contiguous()
    size = tensor.numel() * tensor.element_size()
    if size:
        _transfer(_WRITEV, "write", pid, address, tensor.data_ptr(), size)


def memory_reachable(pid: int | None) -> bool:
    """Can the grader read (and so write) this worker's memory? Found without asking the
    worker anything: the first readable mapping /proc lists is read."""
    if pid is None or _READV is None or _WRITEV is None:
        return False
    try:
        with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 2 and fields[1].startswith("r"):
                    start = int(fields[0].split("-")[0], 16)
                    _read(pid, start, bytearray(8))
                    return True
    except (OSError, ValueError, UnreachableMemory):
        return False
    return False


def read_tensor(pid: int, where: Any) -> torch.Tensor:
    """The tensor a stopped worker holds at `where` = [address, shape, strides, dtype name]."""
    if not (isinstance(where, list) and len(where) == 4):
        raise UnreachableMemory("no address was given for it (not a plain CPU tensor?)")
    address, shape, strides, dtype_name = where
    dtype = codec.DTYPES.get(dtype_name) if isinstance(dtype_name, str) else None
    ok = (isinstance(address, int) and address >= 0 and dtype is not None
          and isinstance(shape, list) and isinstance(strides, list) and len(shape) == len(strides)
          and all(isinstance(d, int) and d >= 0 for d in shape + strides))
    if not ok or dtype is None:  # dtype is in ok; said again for the type checker
        raise UnreachableMemory("its description was malformed")
    if math.prod(shape) == 0:
        return torch.empty(shape, dtype=dtype)
    itemsize = torch.empty((), dtype=dtype).element_size()
    span = 1 + sum((d - 1) * s for d, s in zip(shape, strides))
    if span * itemsize > MAX_READ_BYTES:
        raise UnreachableMemory(f"it claims {span * itemsize} bytes")
    buffer = bytearray(span * itemsize)
    _read(pid, address, buffer)
    flat = torch.frombuffer(buffer, dtype=dtype)
    return flat.as_strided(shape, strides).clone()

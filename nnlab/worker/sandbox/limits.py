"""What a confined worker may use: CPU time, memory, files, processes, and the GPU."""
from __future__ import annotations

import glob
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process; 0 switches off a CPU, memory, file-size or fd limit."""

    cpu_s: int = 60
    """RLIMIT_CPU soft limit (SIGXCPU); the hard limit (SIGKILL) is 2 s later."""
    memory_bytes: int = 6 * 2**30
    """RLIMIT_AS (RLIMIT_DATA with `gpu`). A CPU torch worker maps about 0.7-1.5 GiB of
    address space (more with many cores: glibc reserves 64 MiB per malloc arena), so 6 GiB
    leaves room for real tensors while a 20 GB allocation fails with MemoryError."""
    file_size_bytes: int = 64 * 2**20
    """RLIMIT_FSIZE; SIGXFSZ is ignored so an oversized write raises OSError(EFBIG)."""
    open_files: int = 256
    """RLIMIT_NOFILE."""
    max_processes: int = 0
    """Child processes the worker may start. 0: seccomp refuses fork/vfork/clone of a
    process (threads still work), and where seccomp is missing RLIMIT_NPROC caps the
    worker's tasks near what torch's thread pools need."""
    gpu: bool = False
    """Let the worker use NVIDIA GPUs: /dev/nvidia* open for read, write and ioctl, the
    driver's /proc and /sys entries readable, and memory limited with RLIMIT_DATA instead
    of RLIMIT_AS, because the CUDA driver reserves tens of GiB of address space that
    RLIMIT_AS would count (RLIMIT_DATA counts only private writable memory)."""


def nvidia_devices() -> list[str]:
    """The NVIDIA device files of this machine (none without a driver)."""
    return sorted(glob.glob("/dev/nvidia*")) if sys.platform.startswith("linux") else []

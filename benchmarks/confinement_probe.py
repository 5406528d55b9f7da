"""Prints what worker confinement achieves on this machine and how long `confine` takes.

    python benchmarks/confinement_probe.py        (this interpreter's nnlab)
    /path/to/venv/bin/python benchmarks/confinement_probe.py   (that install's, e.g. a wheel)

Timed twice: in children of a plain process, and in children of one that prepared the rules as
the fork server does (landlock.prepare_rules: the fixed rules once, the shared layer where it
fits). Where nnlab is installed in site-packages, one full Landlock layer lists site-packages
entry by entry; the rule count printed says how many rules a worker would add without the
shared layer.
"""
from __future__ import annotations

import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

try:  # Like the real fork server: torch is loaded before the worker forks.
    import torch
except ImportError:
    torch = None

from nnlab.worker.sandbox import Limits, confine, landlock, landlock_abi, probe, probe_notes

RUNS = 20


def time_confine_once() -> float:
    """Seconds `confine` takes in a freshly forked child (the fork itself excluded)."""
    scratch = tempfile.mkdtemp(prefix="nnlab-bench-")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            started = time.perf_counter()
            confine(Path(scratch), [], Limits(), keep_fds=(write_fd,))
            os.write(write_fd, struct.pack("d", time.perf_counter() - started))
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        data = os.read(read_fd, 8)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
        shutil.rmtree(scratch, ignore_errors=True)
    if len(data) != 8:
        raise RuntimeError("confined child reported nothing")
    return struct.unpack("d", data)[0]


def main() -> None:
    started = time.perf_counter()
    conf = probe()
    probe_s = time.perf_counter() - started
    print(f"python {sys.version.split()[0]}, {sys.platform}, landlock ABI {landlock_abi()}, "
          f"torch {'loaded' if torch is not None else 'not installed'}")
    print(f"probe: {conf.describe()}  ({probe_s * 1000:.1f} ms, first call)")
    for name, why in probe_notes().items():
        print(f"  {name}: {why}")
    scratch = Path(tempfile.mkdtemp(prefix="nnlab-bench-"))
    rules = len(landlock.landlock_rules(scratch, [], gpu=False))
    scratch.rmdir()
    print(f"nnlab at {landlock.nnlab_dir()}; one full Landlock layer: {rules} rules")
    _print_times("confine, unprepared", [time_confine_once() for _ in range(RUNS)])
    landlock.prepare_rules(gpu=False)
    shared = "shared layer + the worker's own" if landlock.inherited_fds() else "one full layer, prepared"
    _print_times(f"confine, as forked from a fork server ({shared})", [time_confine_once() for _ in range(RUNS)])


def _print_times(what: str, times: list[float]) -> None:
    print(f"{what}: median {statistics.median(times) * 1000:.2f} ms, "
          f"min {min(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms over {RUNS} forked children")


if __name__ == "__main__":
    main()

"""Processes in tests: whether one is still running (from /proc), and stopping the ones a test started."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_all(started: list[subprocess.Popen[bytes]]) -> None:
    """Ctrl-C to each process, the last started first (dask workers before their scheduler);
    one that has not left 30 s later is killed."""
    for process in reversed(started):
        process.send_signal(signal.SIGINT)
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def processes_with(marker: str) -> list[int]:
    """Live processes (not this one) whose environment holds `marker`: what a test started, even
    after its parent is gone."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            pass
    return [pid for pid in found if running(pid) and pid != os.getpid()]

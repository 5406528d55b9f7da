"""Cleans up after a dead Dask worker: a tiny process that outlives it by a moment."""
# Student workers lead their own session (setsid) and are children of the fork server, so
# nothing stops one that loops when the Dask worker that started it is killed. The Dask
# worker sends each worker's pid here; when its end of the pipe closes (it exited or was
# killed), every listed worker still alive is killed with its process group, and the Dask
# worker's scratch folder (student files, worker folders) is removed.
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from typing import IO

# A process's start time tells a reused pid from ours (stdlib only: the reaper stays tiny).
from nnlab.grader.scratch import process_start as start_time

_PRUNE_EVERY = 512
"""Forget dead workers after this many new ones, so a long-lived Dask worker's list stays short."""


def _kill_all(watched: dict[int, str]) -> None:
    for pid, started in watched.items():
        if started and start_time(pid) == started:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def main() -> None:
    """Reads 'PID START' lines until end of input, then kills what is still running and
    removes the scratch folder named on its command line."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the grader, which cleans up first
    watched: dict[int, str] = {}
    added = 0
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        watched[int(parts[0])] = parts[1]
        added += 1
        if added % _PRUNE_EVERY == 0:
            watched = {p: s for p, s in watched.items() if start_time(p) == s}
    _kill_all(watched)
    if len(sys.argv) > 1:
        shutil.rmtree(sys.argv[1], ignore_errors=True)


class Reaper:
    """The Dask worker's side: starts the reaper process and tells it about each worker."""

    def __init__(self, scratch: str) -> None:
        self._lock = threading.Lock()
        self._pipe: IO[str] | None = None
        if sys.platform.startswith("linux"):  # /proc is how it tells a reused pid apart
            # A fresh interpreter (fork and exec), so it holds none of this process's threads or
            # descriptors; its own session, so a signal to this process group spares it.
            process = subprocess.Popen([sys.executable, "-m", "nnlab.engine.reaper", scratch],
                                       stdin=subprocess.PIPE, text=True, start_new_session=True)
            self._process = process
            self._pipe = process.stdin

    def watch(self, pid: int) -> None:
        started = start_time(pid)
        with self._lock:
            if self._pipe is not None and started:
                try:
                    self._pipe.write(f"{pid} {started}\n")
                    self._pipe.flush()
                except (BrokenPipeError, ValueError):
                    self._pipe = None

    def close(self) -> None:
        """Ends the reaper now; it kills whatever is still listed and exits."""
        with self._lock:
            if self._pipe is not None:
                try:
                    self._pipe.close()
                except BrokenPipeError:
                    pass
                self._pipe = None
                self._process.wait(timeout=10)


if __name__ == "__main__":
    main()

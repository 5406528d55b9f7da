"""Starts confined workers from a fork server that has torch and the worker code preloaded."""
from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

# The worker code (and torch with it) is imported only when a worker starts, so that a
# command can boot the fork server before it pays for torch itself (start_fork_server_early).

_PRELOAD = ["torch", "torch.nn.functional", "nnlab.worker.preload"]
_context_lock = threading.Lock()
_context: Any = None
_live: set[WorkerProcess] = set()


def _fork_context() -> Any:
    """The multiprocessing context: a fork server where the OS has one, else spawn."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                _context = multiprocessing.get_context("forkserver")
                _context.set_forkserver_preload(_PRELOAD)
            else:  # Windows: slow (torch imported per worker) but correct.
                _context = multiprocessing.get_context("spawn")
        return _context


def start_fork_server_early() -> None:
    """Boots the fork server in the background, overlapping the grader's own imports
    (torch and pytest in the grader take about as long as the fork server's preload)."""
    context = _fork_context()
    if context.get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    threading.Thread(target=forkserver.ensure_running, name="nnlab-forkserver", daemon=True).start()


@contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Stops multiprocessing from re-importing the grader's __main__ in every worker.

    The worker needs none of the grader's script, and importing it would cost time and
    run grader code after the fork.
    """
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__}
    try:
        for key in saved:
            if key == "__spec__":
                main.__dict__[key] = None
            else:
                del main.__dict__[key]
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


@dataclass(eq=False)
class WorkerProcess:
    """A running worker: its process, the grader's end of the pipe, its scratch folder."""

    process: Any
    conn: multiprocessing.connection.Connection
    scratch: Path
    killed: bool = field(default=False, repr=False)
    reaped: bool = field(default=False, repr=False)
    _reaping: Any = field(default_factory=threading.Lock, repr=False)

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def describe_exit(self) -> str:
        self.process.join(timeout=2)
        code = self.process.exitcode
        if code is None:
            return "stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed: memory or CPU limit?)",
                    "SIGXCPU": " (CPU time limit)", "SIGABRT": " (aborted)"}.get(name, "")
            return f"was killed by {name}{hint}"
        return f"exited with status {code}"

    def kill(self) -> None:
        """Kills the worker and everything it started; the kernel's tear-down of it, and the
        removal of its scratch folder, finish in the background (`settle` waits for them)."""
        if self.killed:
            return
        self.killed = True
        pid = self.process.pid
        if pid is not None:
            try:
                # The worker leads its own process group after setsid; kill the whole group.
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reaper.put(self)

    def reap(self) -> None:
        """Waits for the killed worker to be gone, then closes its pipe and removes its scratch
        (once, whichever thread asks first)."""
        with self._reaping:
            if self.reaped:
                return
            if self.process.pid is not None:
                self.process.join(timeout=5)
            self.conn.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            _live.discard(self)
            self.reaped = True


class _Reaper:
    """Reaps killed workers on a thread of its own.

    A killed worker takes the kernel tens of milliseconds to tear down (its copy of torch's
    address space): waited for on the grader's thread, that delayed every next check. The
    worker is dead (SIGKILL) before `put` returns; only the waiting moves off the path.
    """

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.pending: list[WorkerProcess] = []
        self.thread: threading.Thread | None = None

    def put(self, worker: WorkerProcess) -> None:
        with self.changed:
            self.pending.append(worker)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="nnlab-reaper", daemon=True)
                self.thread.start()
            self.changed.notify_all()

    def _run(self) -> None:
        while True:
            with self.changed:
                while not self.pending:
                    self.changed.wait()
                worker = self.pending[0]
            try:
                worker.reap()
            finally:
                with self.changed:
                    self.pending.remove(worker)
                    self.changed.notify_all()

    def settle(self) -> None:
        with self.changed:
            while self.pending:
                self.changed.wait()


_reaper = _Reaper()


def settle() -> None:
    """Returns once every worker killed so far in this process is reaped and its scratch removed."""
    _reaper.settle()


def _fresh_reaper_after_fork() -> None:
    # A forked grader (the warm daemon's commands) inherits neither the thread nor the workers.
    global _reaper
    _reaper = _Reaper()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_reaper_after_fork)


@atexit.register
def _kill_live_workers() -> None:
    # A grader that stops early (Ctrl-C, an exception) leaves no worker or scratch behind.
    for worker in list(_live):
        worker.kill()
    settle()


class WorkerLauncher:
    """Hands out fresh workers; one launcher serves a whole grading run."""

    def __init__(self, limits: Any = None, confine: bool = True) -> None:
        if confine and limits is None and sys.platform.startswith("linux"):
            from nnlab.worker.sandbox import Limits, nvidia_devices

            # Where there is an NVIDIA driver, timing checks run on the GPU in the worker.
            limits = Limits(gpu=bool(nvidia_devices()))
        self.limits = limits if confine else None
        # Every worker's scratch folder lives under this one, removed when the grader exits.
        self.scratch_root = Path(tempfile.mkdtemp(prefix="nnlab-run-"))
        atexit.register(shutil.rmtree, self.scratch_root, True)
        start_fork_server_early()

    def start(self) -> WorkerProcess:
        from nnlab.worker.server import WorkerConfig, serve

        context = _fork_context()
        scratch = Path(tempfile.mkdtemp(prefix="worker-", dir=self.scratch_root))
        parent_conn, child_conn = context.Pipe(duplex=True)
        config = WorkerConfig(scratch=str(scratch), limits=self.limits)
        process = context.Process(target=serve, args=(child_conn, config), daemon=True)
        with _main_module_hidden():
            process.start()
        child_conn.close()
        worker = WorkerProcess(process=process, conn=parent_conn, scratch=scratch)
        _live.add(worker)
        return worker

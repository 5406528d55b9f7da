"""Starts confined workers from a fork server that has torch and the worker code preloaded."""
from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.connection
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from nnlab.grader import scratch

# The worker code (and torch with it) is imported only when a worker starts, so that a
# command can boot the fork server before it pays for torch itself (start_fork_server_early).

_PRELOAD = ["torch", "torch.nn.functional", "nnlab.worker.preload"]
"""What the fork server imports before its first fork (the last one freezes what is loaded)."""
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


def use_inherited_fork_server() -> None:
    """This forked process starts its workers from the fork server its parent uses.

    multiprocessing checks its fork server with waitpid, which only the process that
    started it may call: that one checks it (or it ends with it), so here it is only used.
    """
    from multiprocessing import forkserver, resource_tracker

    def ensure_running() -> None:
        resource_tracker.ensure_running()

    forkserver._forkserver.ensure_running = ensure_running  # type: ignore[method-assign]  # on purpose, as above
    forkserver.ensure_running = ensure_running


def fork_server_inherited() -> bool:
    """Whether this process was forked by a fork server that preloaded the worker code (a
    Dask worker of the embedded cluster, nnlab.engine.cluster): one that can fork this
    process's workers too, so that the machine needs one fork server, not one per process.

    The fork server leaves its address and the handle that keeps it alive to the processes
    it forks; Python versions that also require a key it does not hand down are refused.
    """
    from multiprocessing import forkserver

    server: Any = forkserver._forkserver
    return ("nnlab.worker.preload" in sys.modules  # imported by a fork server only
            and sys.platform.startswith("linux")
            and getattr(server, "_forkserver_pid", 0) is None
            and getattr(server, "_forkserver_address", None) is not None
            and getattr(server, "_forkserver_alive_fd", None) is not None
            and getattr(server, "_forkserver_authkey", b"") is not None)


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
    saved: dict[str, Any] = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main and k in main.__dict__}
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

    killed: bool = False
    """Whether kill() was called: the worker is gone or going."""

    def kill(self) -> None:
        """Kills the worker and everything it started, at once. Waiting for its end and removing
        its scratch folder (finish) happen on a thread of their own, off the next check's path:
        a killed worker takes about 20 ms to be torn down and reaped by its fork server."""
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
        _finishing.put(self)
        _start_finisher()

    def finish(self) -> None:
        """After kill(): waits for the worker's end, closes its pipe, removes its scratch folder."""
        if self.process.pid is not None:
            self.process.join(timeout=5)
        self.conn.close()
        scratch.remove_quietly(self.scratch)  # also where the student's code took its permissions
        _live.discard(self)


_finishing: queue.SimpleQueue[WorkerProcess] = queue.SimpleQueue()
"""Killed workers to finish. A SimpleQueue: kill() may run in a signal handler (SIGTERM, via
scratch.own), which may have interrupted this very module; SimpleQueue.put is safe there."""
_finisher: threading.Thread | None = None
_finisher_lock = threading.Lock()


def _start_finisher() -> None:
    global _finisher
    if _finisher is not None and _finisher.is_alive():
        return
    # Not blocking: a signal handler may have interrupted the code holding the lock.
    if not _finisher_lock.acquire(timeout=1.0):
        return
    try:
        if _finisher is None or not _finisher.is_alive():  # none yet, or this is a forked copy
            _finisher = threading.Thread(target=_finish_killed, name="nnlab-worker-finisher",
                                         daemon=True)
            _finisher.start()
    finally:
        _finisher_lock.release()


def _finish_killed() -> None:
    while True:
        _finish_one(_finishing.get())


def _finish_one(worker: WorkerProcess) -> None:
    try:
        worker.finish()
    except Exception:  # noqa: BLE001 - one worker's leftovers must not stop the others'
        _live.discard(worker)


def wait_for_killed_workers(limit_s: float = 30.0) -> None:
    """Returns once every killed worker has ended and its scratch folder is gone (at most
    `limit_s`: a worker's own end is bounded, so this is a guard, not a wait)."""
    deadline = time.monotonic() + limit_s
    while any(w.killed for w in list(_live)) and time.monotonic() < deadline:
        if _finisher is None or not _finisher.is_alive():
            try:  # no finisher thread (it could not be started): finish them here
                _finish_one(_finishing.get_nowait())
            except queue.Empty:
                pass
        time.sleep(0.005)


_spares_starting: set[threading.Thread] = set()


@atexit.register
def _kill_live_workers() -> None:
    # A grader that stops early (Ctrl-C, an exception) leaves no worker or scratch behind,
    # a spare still starting included.
    for thread in list(_spares_starting):
        thread.join(timeout=10)
    for worker in list(_live):
        worker.kill()
    _start_finisher()  # (a process forked mid-run has none of its parent's threads)
    wait_for_killed_workers()


class WorkerLauncher:
    """Hands out fresh workers; one launcher serves a whole grading run."""

    def __init__(self, limits: Any = None, confine: bool = True, spare: bool = False) -> None:
        if confine and limits is None and sys.platform.startswith("linux"):
            from nnlab.worker.sandbox import Limits, nvidia_devices

            # Where there is an NVIDIA driver, timing checks run on the GPU in the worker.
            limits = Limits(gpu=bool(nvidia_devices()))
        self.limits = limits if confine else None
        # Every worker's scratch folder lives under this one, removed when the grader exits
        # (SIGTERM included); one left by a killed grader goes at the next launcher's start.
        self.scratch_root = scratch.make_root()
        scratch.own(self.scratch_root, stop_writers=_kill_live_workers)
        start_fork_server_early()
        self.spare = spare
        """Whether a worker is started ahead, while the previous one works: a check then finds
        its worker forked and confined already (where a student waits, `nnlab check`: about
        20 ms less per check with a core to spare). Each is as fresh as one started on demand:
        forked from the fork server, nothing loaded, no student code run."""
        self.more_expected = True
        """Whether another worker is likely to be asked for after the next one; a runner that
        knows says no before its last check, so that no spare is started only to be killed."""
        self._spare: WorkerProcess | None = None
        self._spare_thread: threading.Thread | None = None
        self._launch_lock = threading.Lock()

    def start(self) -> WorkerProcess:
        """A fresh worker: the spare started ahead if there is one, else one started now."""
        worker = self._take_spare()
        if worker is None:
            worker = self._launch()
        if self.spare and self.more_expected:
            self._start_spare()
        return worker

    def _take_spare(self) -> WorkerProcess | None:
        thread, self._spare_thread = self._spare_thread, None
        if thread is not None:
            thread.join()  # on its way: sooner than one started from nothing
            _spares_starting.discard(thread)
        worker, self._spare = self._spare, None
        if worker is not None and worker.process.exitcode is not None:
            worker.kill()  # it died waiting (its fork server did): start another
            return None
        return worker

    def _start_spare(self) -> None:
        def launch() -> None:
            try:
                self._spare = self._launch()
            except Exception:  # noqa: BLE001 - the next start launches its own, and says why
                self._spare = None

        thread = threading.Thread(target=launch, name="nnlab-spare-worker", daemon=True)
        _spares_starting.add(thread)
        self._spare_thread = thread
        thread.start()

    def _launch(self) -> WorkerProcess:
        with self._launch_lock:  # one at a time: the __main__ hiding below is process-wide
            return self._launch_now()

    def _launch_now(self) -> WorkerProcess:
        from nnlab.worker.server import WorkerConfig, serve

        context = _fork_context()
        folder = Path(tempfile.mkdtemp(prefix="worker-", dir=self.scratch_root))
        parent_conn, child_conn = context.Pipe(duplex=True)
        config = WorkerConfig(scratch=str(folder), limits=self.limits)
        process = context.Process(target=serve, args=(child_conn, config), daemon=True)
        with _main_module_hidden():
            process.start()
        child_conn.close()
        worker = WorkerProcess(process=process, conn=parent_conn, scratch=folder)
        _live.add(worker)
        return worker

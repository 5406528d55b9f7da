"""The warm grader's process: torch, pytest and the checks loaded once, one fork per request."""
from __future__ import annotations

import gc
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path

from nnlab.daemon.place import (CODE_SUFFIXES, SOCKET_NAME, folder_lock, idle_seconds,
                                install_folder, own_identity, peer_uid, receive_message,
                                send_message, usable_folder)
from nnlab.daemon.request import run_request
from nnlab.daemon.watch import CodeWatch

_STALE_WAIT_S = 15.0
"""How long a new daemon waits for the stale one it replaces to finish its requests."""


def _probe(path: Path, identity: dict) -> str:
    """'free' (nothing answers there), 'same' (a daemon like this one) or 'other' (told to stop)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(2.0)
    try:
        conn.connect(str(path))
        if peer_uid(conn) != os.getuid():
            return "other"  # not ours to stop; the folder check makes this unreachable
        hello, _ = receive_message(conn)
        if hello.get("identity") == identity:
            return "same"
        send_message(conn, {"op": "stop"})
        return "other"
    except (ConnectionRefusedError, FileNotFoundError):
        return "free"
    except (OSError, EOFError, ValueError):
        return "other"  # alive but not answering yet: wait for it
    finally:
        conn.close()


def _bind(identity: dict) -> tuple[socket.socket, Path, int] | None:
    """The listening socket (0600) in this user's runtime folder; None when one is served already."""
    deadline = time.monotonic() + _STALE_WAIT_S
    while time.monotonic() < deadline:
        folder = usable_folder(create=True)
        if folder is None:
            return None
        path = folder / SOCKET_NAME
        with folder_lock(folder) as present:
            if not present:
                continue  # a daemon removed the folder as it left: make it again
            state = _probe(path, identity)
            if state == "same":
                return None
            if state == "free":
                path.unlink(missing_ok=True)  # a daemon that was killed left its socket
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                old = os.umask(0o177)  # 0600 from the start: no moment in which others may connect
                try:
                    listener.bind(str(path))
                finally:
                    os.umask(old)
                listener.listen(64)
                return listener, path, os.stat(path).st_ino
        time.sleep(0.1)
    return None


def _leave(path: Path, inode: int) -> None:
    """Removes the socket (only if still ours) and the runtime folder once it is empty."""
    folder = path.parent
    try:
        with folder_lock(folder) as present:
            if present and path.exists() and os.stat(path).st_ino == inode:
                path.unlink()
            try:
                folder.rmdir()
            except OSError:
                pass  # another daemon's socket, or the user's own files
    except OSError:
        pass


def _boot() -> None:
    """Pays now what every `nnlab check` otherwise pays first: imports, the fork server, the checks."""
    # Each import here is one a request would otherwise make on every command.
    import multiprocessing.popen_forkserver  # noqa: F401
    from multiprocessing import forkserver

    import torch._subclasses.schema_check_mode  # noqa: F401

    import nnlab.cli  # the command group each request runs
    import nnlab.commands.check
    import nnlab.commands.localized_help
    import nnlab.commands.submit
    import nnlab.worker.sandbox  # the launcher's confinement limits
    import nnlab.worker.server
    import nnlab.reports  # noqa: F401 - submit --report
    from nnlab.grader import pipeline  # noqa: F401 - what every request grades with
    from nnlab.grader import runner
    from nnlab.grader.exercise import is_student_kit, load_catalogue
    from nnlab.grader.launcher import _fork_context
    from nnlab.worker.hugepages import collapse_into_huge_pages

    _fork_context()
    forkserver.ensure_running()
    runner._warm_up_grader()
    # A student kit has no hidden checks: its commands collect the public ones only.
    for exercise in load_catalogue():
        for hidden in (False,) if is_student_kit() else (False, True):
            # Collected here, each request's process starts with the checks collected (and
            # never run): what a fresh process has after its first collection.
            collected = runner._collected_for(exercise, hidden)
            if collected is not None:
                collected.busy.release()
    # Out of the collector's sight, as in the fork server (nnlab.worker.preload): a request's
    # first full collection would walk every object loaded here, copying their pages.
    gc.collect()
    gc.freeze()
    collapse_into_huge_pages()  # each request is a fork of this process: see there


class _Daemon:
    """Accepts requests until idle for `idle_s` (or told to stop); forks a process for each."""

    def __init__(self, listener: socket.socket, path: Path, inode: int, idle_s: float,
                 identity: dict, watch: CodeWatch | None) -> None:
        self.listener: socket.socket | None = listener
        self.path, self.inode, self.idle_s = path, inode, idle_s
        self.watch = watch
        self.children: set[int] = set()
        self.last_busy = time.monotonic()
        self.identity = identity
        self.served = 0
        """Requests handed to a process so far: said in the hello, so a test can tell who graded."""
        self.stop_requested = False
        """Set by SIGTERM: the loop stops listening at its next turn (not inside select)."""

    def serve(self) -> None:
        while True:
            self._reap()
            if self.stop_requested:
                self.stop_listening()
            now = time.monotonic()
            if self.children:
                self.last_busy = now
            if self.listener is None and not self.children:
                return
            if not self.children and now - self.last_busy >= self.idle_s:
                return
            waiting = [self.listener] if self.listener is not None else []
            timeout = min(0.5, max(0.01, self.idle_s - (now - self.last_busy)))
            ready, _, _ = select.select(waiting, [], [], timeout)
            if ready and self.listener is not None:
                try:
                    conn, _ = self.listener.accept()
                except OSError:
                    continue
                self._handle(conn)

    def stop_listening(self) -> None:
        """No new requests: the socket goes at once, the requests under way finish."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
            _leave(self.path, self.inode)

    def _reap(self) -> None:
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)

    def _handle(self, conn: socket.socket) -> None:
        fds: list[int] = []
        try:
            conn.settimeout(5.0)
            if peer_uid(conn) != os.getuid():
                return  # another user: the 0700 folder should make this impossible
            # Read at each hello, so an edit saved before the client connected is known here.
            watched = self.watch is not None and self.watch.unchanged(CODE_SUFFIXES)
            send_message(conn, {"identity": self.identity, "watched": watched, "pid": os.getpid(),
                                "served": self.served})
            message, fds = receive_message(conn, max_fds=2)
            if message.get("op") == "stop":
                self.stop_listening()
            elif message.get("op") == "run" and len(fds) == 2:
                self._fork(conn, message, fds)
        except (OSError, EOFError, ValueError):
            pass  # a client that went away, or a probe that only wanted the hello
        finally:
            for fd in fds:
                os.close(fd)
            conn.close()

    def _fork(self, conn: socket.socket, message: dict, fds: list[int]) -> None:
        from multiprocessing import forkserver

        forkserver.ensure_running()  # restarted here if it died: the children cannot
        pid = os.fork()
        if pid == 0:
            listener, watch = self.listener, self.watch
            run_request(conn, message, fds, close=[*([listener.fileno()] if listener else []),
                                                   *([watch.fd] if watch else [])])
        self.children.add(pid)
        self.served += 1
        self.last_busy = time.monotonic()


def main() -> None:
    os.chdir("/")  # a daemon pins no folder; each request runs in its client's
    # Watched from before the digest is taken, so no edit falls between the two; both before
    # anything is imported: files edited during the boot make it stale at once.
    watch = CodeWatch.start(install_folder(), CODE_SUFFIXES)
    identity = own_identity().to_json()
    folder = usable_folder(create=True)
    if folder is None or _probe(folder / SOCKET_NAME, identity) == "same":
        return  # before paying for torch: another daemon serves already
    _boot()
    bound = _bind(identity)
    if bound is None:
        return
    daemon = _Daemon(*bound, idle_seconds(), identity, watch)
    signal.signal(signal.SIGTERM, lambda *_: setattr(daemon, "stop_requested", True))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        daemon.serve()
    finally:
        # Not atexit: every request's process inherits the handlers and would remove the socket.
        daemon.stop_listening()
    sys.exit(0)


if __name__ == "__main__":
    main()

"""One request in the warm grader: a forked process that becomes the client's own `nnlab` command."""
from __future__ import annotations

import atexit
import contextlib
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import traceback
from typing import Any, NoReturn

from nnlab.commands.session_setup import skip_torch_library_teardown
from nnlab.daemon.place import mark_serving, send_message
from nnlab.grader.launcher import use_inherited_fork_server
from nnlab.worker.sandbox import syscalls

_PR_SET_PDEATHSIG = 1
_INTERNAL_FAILURE = 70
"""The exit status of a request whose process could not take over its client's command."""


def _die_with_daemon() -> None:
    # A killed daemon takes its requests along: their clients see the connection drop and
    # grade in their own process, instead of waiting on an orphan.
    with contextlib.suppress(OSError):  # no prctl here: the orphan test below still holds
        syscalls.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(_INTERNAL_FAILURE)


def _become_client(message: dict[str, Any], fds: list[int]) -> None:
    """Takes on the client's folder, environment, umask and terminal (its stdout and stderr)."""
    os.chdir(message["cwd"])
    os.umask(int(message["umask"]))
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in message["env"].items()})
    tempfile.tempdir = None  # the client's TMPDIR, not the daemon's
    for fd, target in zip(fds, (1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    out, err = message["stdout"], message["stderr"]
    # As the interpreter makes them: stdout line-buffered on a terminal only, stderr always.
    sys.stdout = open(1, "w", encoding=out[0], errors=out[1], closefd=False)
    sys.stderr = open(2, "w", encoding=err[0], errors=err[1], buffering=1, closefd=False)
    random.seed()  # each request draws afresh, as a fresh process would
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _watch_client(conn: socket.socket) -> None:
    """Interrupts the command when its client goes away (killed, or a second Ctrl-C)."""
    import _thread

    def watch() -> None:
        try:
            gone = conn.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            _thread.interrupt_main()

    threading.Thread(target=watch, name="nnlab-client-watch", daemon=True).start()


def _invoke(args: list[str]) -> int:
    from nnlab import cli

    try:
        cli.main.main(args=args, prog_name="nnlab", standalone_mode=True)
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def run_request(conn: socket.socket, message: dict[str, Any], fds: list[int],
                close: list[int]) -> NoReturn:
    """Runs the client's command in this forked process and reports its exit status."""
    code, started = _INTERNAL_FAILURE, False
    try:
        for fd in close:
            os.close(fd)
        _die_with_daemon()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        mark_serving()
        use_inherited_fork_server()
        _become_client(message, list(fds))
        conn.settimeout(None)
        send_message(conn, {"started": os.getpid()})
        started = True
        _watch_client(conn)
        code = _invoke([str(a) for a in message["args"]])
    except BaseException:  # noqa: BLE001 - as the interpreter would end an uncaught exception
        if started:
            traceback.print_exc()
            code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            skip_torch_library_teardown()
            atexit._run_exitfuncs()  # the workers and scratch folders go before the answer
            # Not started: the client grades in its own process, as if no daemon were there.
            send_message(conn, {"exit": code} if started else {"unusable": True})
        finally:
            os._exit(0)

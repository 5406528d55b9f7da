"""The command's side of the warm grader: hand the command over, or start a daemon for next time."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Sequence

import click

from nnlab.daemon.place import (SOCKET_NAME, matches, peer_uid, receive_message, send_message,
                                usable_folder)

_CONNECT_TIMEOUT_S = 2.0
FALLBACK_NOTE = ("nnlab: the warm grader stopped before it answered; grading in this process "
                 "instead (--no-daemon always does)")


def _client_streams() -> tuple[int, int] | None:
    """The descriptors behind stdout and stderr; None when they are not plain files (captured)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        return sys.stdout.fileno(), sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _connect() -> socket.socket | None:
    folder = usable_folder(create=False)
    if folder is None:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(_CONNECT_TIMEOUT_S)
    try:
        conn.connect(str(folder / SOCKET_NAME))
        if peer_uid(conn) == os.getuid():
            return conn
    except OSError:
        pass
    conn.close()
    return None


def _request(args: Sequence[str]) -> dict:
    encodings = [[s.encoding, s.errors] for s in (sys.stdout, sys.stderr)]
    umask = os.umask(0)
    os.umask(umask)
    return {"op": "run", "args": list(args), "cwd": os.getcwd(), "env": dict(os.environ),
            "umask": umask, "stdout": encodings[0], "stderr": encodings[1]}


def grade_warm(args: Sequence[str]) -> int | None:
    """Runs `nnlab ARGS` in this user's warm grader, on this terminal; its exit status.

    None: no daemon of this very nnlab (version, install, interpreter, start-up settings)
    answered for this user, or it stopped midway (said on stderr); the caller grades itself.
    """
    streams = _client_streams()
    conn = _connect() if streams is not None else None
    if conn is None or streams is None:
        return None
    with conn:
        try:
            hello, _ = receive_message(conn)
            if not matches(hello):
                send_message(conn, {"op": "stop"})  # ours but stale: replaced after this command
                return None
            send_message(conn, _request(args), list(streams))
        except (OSError, EOFError, ValueError):
            return None
        return _await(conn)


def _await(conn: socket.socket) -> int | None:
    """The request's exit status; Ctrl-C here is passed on to the process running it."""
    pid = 0
    conn.settimeout(None)
    while True:
        try:
            message, _ = receive_message(conn)
        except KeyboardInterrupt:
            if not pid:
                raise
            os.kill(pid, signal.SIGINT)  # it says "interrupted" and exits 130, as here
            continue
        except (OSError, EOFError, ValueError):
            message = {}
        if "started" in message and not pid:
            pid = int(message["started"])
        elif "exit" in message:
            return int(message["exit"])
        elif message.get("unusable"):
            return None
        else:
            click.echo(FALLBACK_NOTE, err=True)
            return None


def leave_daemon() -> None:
    """Starts this user's warm grader in the background, for the next command.

    It outlives this command (its own session, no terminal), answers requests until idle for
    ten minutes, and leaves at once if a daemon like it already listens.
    """
    if usable_folder(create=True) is None:
        return
    try:
        subprocess.Popen([sys.executable, "-m", "nnlab.daemon.server"], cwd="/",
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError:
        pass  # no daemon: the next command grades in its own process, as this one did

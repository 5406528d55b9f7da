"""What confinement achieves on this machine, measured once in a throwaway forked child."""
from __future__ import annotations

import json
import os
import select
import signal
import tempfile
import time
import warnings
from pathlib import Path

from nnlab.wire.confinement import Confinement
from nnlab.worker.sandbox import syscalls
from nnlab.worker.sandbox.steps import confine_recorded
from nnlab.worker.sandbox.limits import Limits
from nnlab.worker.sandbox.syscalls import Record

_PROBE_CACHE: Confinement | None = None
_PROBE_NOTES: dict[str, str] = {}


def probe_notes() -> dict[str, str]:
    """Why each mechanism in the last `probe()` answer's `missing` failed, for diagnostics."""
    return dict(_PROBE_NOTES)


def probe(timeout_s: float = 20.0) -> Confinement:
    """What `confine` achieves on this machine, measured in a throwaway forked child.

    The calling process is left as it was (the child does all the work); the answer is
    cached for the life of the process.
    """
    global _PROBE_CACHE
    if _PROBE_CACHE is not None:
        return _PROBE_CACHE
    if not hasattr(os, "fork"):
        return Confinement("none", (), ("fork",))
    syscalls.libc()  # load libc here: the child of a threaded parent had better not dlopen
    scratch = tempfile.mkdtemp(prefix="nnlab-probe-")
    read_fd, write_fd = os.pipe()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork in a threaded process; this child only makes
            # syscalls and leaves through os._exit.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: confine, report, never return into the caller's code
            code = 0
            try:
                os.close(read_fd)
                rec = Record()
                result = confine_recorded(rec, Path(scratch), [], Limits(), (write_fd,))
                payload = json.dumps({"level": result.level, "applied": result.applied,
                                      "missing": result.missing, "notes": rec.notes}).encode()
                os.write(write_fd, payload)
            except BaseException:  # noqa: BLE001 - the probe child reports any failure as its exit code
                code = 1
            finally:
                os._exit(code)
        os.close(write_fd)
        write_fd = -1
        data = _read_all(read_fd, timeout_s)
        _reap(pid)
        try:
            got = json.loads(data.decode())
            answer = Confinement(got["level"], tuple(got["applied"]), tuple(got["missing"]))
            _PROBE_NOTES.clear()
            _PROBE_NOTES.update(got.get("notes", {}))
        except (ValueError, KeyError):
            answer = Confinement("none", (), ("probe-failed",))
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
        _rmtree(scratch)
    _PROBE_CACHE = answer
    return answer


def _read_all(fd: int, timeout_s: float) -> bytes:
    chunks = []
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _reap(pid: int) -> None:
    for _ in range(200):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.01)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)

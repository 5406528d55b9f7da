"""A grading run's scratch folder: named after the process that owns it, swept once that process is gone."""
from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import stat
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Callable

PREFIX = "nnlab-run-"
# The owner is in the folder's name, not in a file inside it: mkdtemp creates name and
# owner in one step, so no sweep ever meets a folder whose owner is not written yet.
# PREFIX + "<pid>-<start>-<host>-": the pid, its start time in clock ticks (a reused pid
# starts at another tick) and a digest of the boot and pid namespace (a pid means nothing
# across a reboot or in another container sharing this temporary folder).


@dataclass(frozen=True)
class Owner:
    """The process a scratch folder belongs to."""

    pid: int
    start: str
    host: str

    def tag(self) -> str:
        return f"{self.pid}-{self.start}-{self.host}-"


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return ""


def _host() -> str:
    """This boot and pid namespace, as 8 hex digits ('' where /proc cannot say)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return hashlib.sha256(f"{boot}:{namespace}".encode()).hexdigest()[:8]


def this_process() -> Owner | None:
    """This process as an owner; None where /proc cannot tell a live owner from a dead one."""
    pid = os.getpid()  # at each call: a forked request of the warm grader is another owner
    start, host = process_start(pid), _host()
    return Owner(pid, start, host) if start and host else None


def owner_of(name: str) -> Owner | None:
    """The owner a folder's name records; None for another name (or an older nnlab's folder)."""
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX):].split("-")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[2]) != 8:
        return None
    return Owner(int(parts[0]), parts[1], parts[2])


def is_stale(owner: Owner, here: Owner) -> bool:
    """Whether the owner is certainly gone: same boot and pid namespace, and its pid is free or
    reused by a process started at another time."""
    return owner.host == here.host and process_start(owner.pid) != owner.start


def remove(folder: Path) -> None:
    """Removes a scratch folder, also where a student's code took away its own permissions."""

    def allow(_function: Callable[..., Any], path: str, _error: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, stat.S_IRWXU)
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)

    if sys.version_info >= (3, 12):
        shutil.rmtree(folder, onexc=allow)
    else:
        shutil.rmtree(folder, onerror=allow)


def sweep(parent: Path | None = None, uid: int | None = None) -> list[Path]:
    """Removes the scratch folders whose owner died without cleaning up (SIGKILL, a lost
    machine); what it removed.

    Only this user's folders, only of this boot and pid namespace, never a live owner's;
    an older nnlab's folder (no owner in its name) is left alone, as its owner cannot be told.
    """
    here = this_process()
    if here is None:
        return []
    parent = Path(parent or tempfile.gettempdir())
    uid = os.getuid() if uid is None else uid
    removed = []
    try:
        names = [n for n in os.listdir(parent) if n.startswith(PREFIX)]
    except OSError:
        return []
    for name in names:
        owner = owner_of(name)
        if owner is None or not is_stale(owner, here):
            continue
        folder = parent / name
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        # A link, or another user's folder, is never ours to remove.
        if stat.S_ISDIR(info.st_mode) and info.st_uid == uid:
            with contextlib.suppress(OSError):
                remove(folder)
                removed.append(folder)
    return removed


def make_root() -> Path:
    """A fresh scratch folder for this process, after sweeping those of dead processes."""
    sweep()
    here = this_process()
    return Path(tempfile.mkdtemp(prefix=PREFIX + (here.tag() if here else "")))


_roots: set[Path] = set()
_stops: list[Callable[[], None]] = []
_lock = threading.RLock()  # re-entrant: the SIGTERM handler may interrupt a holder


def own(root: Path, stop_writers: Callable[[], None]) -> None:
    """Removes `root` when this process ends, `stop_writers` (killing the workers that write
    there) first.

    A normal exit, an exception and Ctrl-C end in atexit. The defaults of SIGTERM and SIGHUP
    (a closed terminal) would end the process without it: where nobody else handles them, a
    handler cleans up, then the process dies of the signal as it would have (its parent sees
    the same status). SIGKILL leaves the folder to the next run's sweep.
    """
    with _lock:
        if not _roots and not _stops:
            atexit.register(clean_up)
        _roots.add(root)
        if stop_writers not in _stops:
            _stops.append(stop_writers)
    _handle_sigterm()


def remove_quietly(root: Path) -> None:
    with contextlib.suppress(OSError):
        remove(root)


def clean_up() -> None:
    """Stops the workers and removes every root this process owns (atexit and SIGTERM)."""
    for stop in list(_stops):
        with contextlib.suppress(Exception):
            stop()
    with _lock:
        roots = list(_roots)
        _roots.clear()
    me = os.getpid()
    for root in roots:
        owner = owner_of(root.name)
        # A forked child (the warm grader's request) inherits the list: only the owner removes.
        if owner is None or owner.pid == me:
            remove_quietly(root)


def _on_sigterm(signum: int, _frame: FrameType | None) -> None:
    clean_up()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _handle_sigterm() -> None:
    # Only from the main thread (the only one Python lets set a handler), and only where the
    # signal has its default: a Dask worker or the warm grader handle theirs their own way.
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):  # no SIGHUP on Windows
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _on_sigterm)

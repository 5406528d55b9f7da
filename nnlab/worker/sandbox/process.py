"""The process-wide steps of confinement: session, namespaces, limits, privileges, environment, fds."""
from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from nnlab.worker.sandbox import syscalls
from nnlab.worker.sandbox.limits import Limits
from nnlab.worker.sandbox.syscalls import Record

try:  # Unix only; a Windows laptop simply gets no rlimits.
    import resource
except ImportError:  # pragma: no cover - not on Linux/macOS
    resource = None  # type: ignore[assignment]  # checked before each use


def setsid(rec: Record) -> None:
    """A session of its own: the grader kills the worker's whole process group."""
    try:
        if os.getpgid(0) == os.getpid():
            if os.getsid(0) == os.getpid():
                rec.ok("setsid")  # already a session leader: nothing to do
            else:
                rec.miss("setsid", "already a process group leader")
            return
        os.setsid()
        rec.ok("setsid")
    except (OSError, AttributeError) as exc:
        rec.miss("setsid", exc)


_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWIPC = 0x08000000


def unshare(flags: int) -> None:
    """unshare(2), through os.unshare where Python has it."""
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(flags)
    else:
        lib = syscalls.libc()
        if lib is None:
            raise OSError(errno.ENOSYS, "no unshare")
        syscalls.check(lib.unshare(ctypes.c_int(flags)), "unshare")


def namespaces(rec: Record) -> bool:
    """New user + network namespace: no network but a down loopback. Returns userns-ness."""
    if not syscalls.LINUX:
        rec.miss("netns", f"no namespaces on {sys.platform}")
        return False
    userns = False
    try:
        unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
        userns = True
        rec.ok("userns+netns")
    except OSError as exc:
        try:
            unshare(_CLONE_NEWNET)  # a real root may do without a user namespace
            rec.ok("netns")
            rec.miss("userns", exc)
        except OSError as exc2:
            rec.miss("netns", exc2)
            return False
    try:
        # SysV IPC and POSIX message queues would outlive the worker and are shared
        # with the grader's IPC namespace otherwise.
        unshare(_CLONE_NEWIPC)
        rec.ok("ipcns")
    except OSError as exc:
        rec.miss("ipcns", exc)
    return userns


def rlimits(rec: Record, limits: Limits) -> None:
    """CPU, memory, file size, open files and no core dumps, as `limits` says."""
    if resource is None:
        rec.miss("rlimits", "no resource module")
        return
    wanted = [
        ("RLIMIT_CPU", limits.cpu_s, limits.cpu_s + 2 if limits.cpu_s else 0),
        ("RLIMIT_DATA" if limits.gpu else "RLIMIT_AS", limits.memory_bytes, limits.memory_bytes),
        ("RLIMIT_FSIZE", limits.file_size_bytes, limits.file_size_bytes),
        ("RLIMIT_NOFILE", limits.open_files, limits.open_files),
        ("RLIMIT_CORE", 0, 0),
    ]
    failed = []
    for name, soft, hard in wanted:
        which = getattr(resource, name, None)
        if which is None:
            failed.append(name)
            continue
        if name != "RLIMIT_CORE" and soft <= 0:
            continue  # switched off
        try:
            _, cur_hard = resource.getrlimit(which)
            if cur_hard != resource.RLIM_INFINITY:
                # Raising a hard limit needs a privilege we give up; never try.
                soft, hard = min(soft, cur_hard), min(hard, cur_hard)
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError) as exc:
            failed.append(f"{name} ({exc})")
    try:
        # Without this a write past RLIMIT_FSIZE kills the worker instead of raising.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    except (ValueError, OSError, AttributeError) as exc:
        failed.append(f"SIGXFSZ ({exc})")
    if failed:
        rec.miss("rlimits", "; ".join(failed))
    else:
        rec.ok("rlimits")


def nproc_fallback(rec: Record, limits: Limits, userns: bool, real_uid: int) -> None:
    """Caps the worker's tasks with RLIMIT_NPROC when seccomp cannot ban fork."""
    if resource is None or not hasattr(resource, "RLIMIT_NPROC"):
        rec.miss("nproc", "no RLIMIT_NPROC")
        return
    if not userns or real_uid == 0:
        # Outside a fresh user namespace the count is every process of the user on the
        # machine; for uid 0 the kernel does not enforce the limit at all.
        rec.miss("nproc", "RLIMIT_NPROC only bounds the worker inside a user namespace, for non-root")
        return
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        threads = 1
    # torch runs intra-op, inter-op and OpenMP pools of about one thread per core each.
    allowance = threads + 3 * (os.cpu_count() or 4) + 8 + max(0, limits.max_processes)
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (allowance, allowance))
        rec.ok("nproc")
    except (OSError, ValueError) as exc:
        rec.miss("nproc", exc)


def die_with_parent(rec: Record) -> None:
    """PR_SET_PDEATHSIG: the worker is killed when its fork server exits.

    A second safety net beside the grader's own clean-up: a grader that is killed
    takes its fork server with it, and the fork server now takes its workers. Set after
    the namespace and capability steps, since a change of credentials would clear it.
    """
    if not syscalls.LINUX:
        rec.miss("parent-death", f"no prctl on {sys.platform}")
        return
    try:
        syscalls.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except OSError as exc:
        rec.miss("parent-death", exc)
        return
    if os.getppid() == 1:  # the fork server died before the signal was armed
        os._exit(1)
    rec.ok("parent-death")


def no_new_privs(rec: Record) -> None:
    """PR_SET_NO_NEW_PRIVS: no exec can ever gain privileges."""
    if not syscalls.LINUX:
        rec.miss("no_new_privs", f"no prctl on {sys.platform}")
        return
    try:
        syscalls.prctl(38, 1)  # PR_SET_NO_NEW_PRIVS: exec can never gain privileges again
        rec.ok("no_new_privs")
    except OSError as exc:
        rec.miss("no_new_privs", exc)
    # PR_SET_DUMPABLE stays on: off, /proc/self/fd and friends become root-owned and a
    # non-root worker in a user namespace could no longer read its own /proc entries;
    # RLIMIT_CORE=0, Landlock and seccomp already stop core dumps and ptrace.


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_caps(rec: Record) -> None:
    """Empties every capability set: matters when the grader runs as root in a container."""
    lib = syscalls.libc()
    if lib is None:
        return
    try:
        try:
            last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        except (OSError, ValueError):
            last = 63
        for cap in range(last + 1):
            try:
                syscalls.prctl(24, cap)  # PR_CAPBSET_DROP: exec as uid 0 regains nothing
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    break  # past the kernel's last capability
                if exc.errno != errno.EPERM:
                    raise
        try:
            syscalls.prctl(47, 4)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
        except OSError:
            pass
        header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        data = (_CapData * 2)()
        syscalls.check(lib.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
        rec.ok("caps-dropped")
    except OSError as exc:
        rec.miss("caps-dropped", exc)


KEPT_ENV = ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")
"""Kept so the worker uses the threads and the GPU the grader measures its reference on."""


def scrub_env(rec: Record, scratch: Path) -> None:
    """Only a minimal environment (HOME and TMPDIR in the scratch folder) and KEPT_ENV."""
    kept = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    try:
        # clear() unsets each variable, so C code (getenv) sees the scrubbed set too.
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": str(scratch), "TMPDIR": str(scratch),
                           "LANG": "C.UTF-8", **kept})
        tempfile.tempdir = None  # re-read TMPDIR on next use
        rec.ok("env-scrubbed")
    except OSError as exc:
        rec.miss("env-scrubbed", exc)


def close_fds(rec: Record, keep_fds: Sequence[int]) -> None:
    """Every inherited fd but stdio and `keep_fds` (the pipe to the grader)."""
    keep = {0, 1, 2, *keep_fds}
    try:
        fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
        fds = [int(name) for name in os.listdir(fd_dir)]
    except (OSError, ValueError):
        # No fd listing: sweep the ranges between the kept fds (close_range underneath).
        top = 4096
        if resource is not None:
            soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            top = soft if 0 < soft < 1 << 20 else 1 << 20
        lo = 3
        for fd in sorted(k for k in keep if k >= 3) + [top]:
            if fd > lo:
                os.closerange(lo, fd)
            lo = fd + 1
        rec.ok("fds-closed")
        return
    for fd in fds:
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass  # the listing's own directory fd, already gone
    rec.ok("fds-closed")


def threads(rec: Record) -> None:
    """Landlock binds only the calling thread; another thread would stay unconfined."""
    try:
        count = len(os.listdir("/proc/self/task"))
    except OSError:
        return  # no procfs (macOS): nothing to tell
    if count > 1:
        rec.miss("single-threaded", f"{count} threads: only the calling one is confined by Landlock")

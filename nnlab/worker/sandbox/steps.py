"""Confining a freshly forked worker: every step in order, each one allowed to be missing."""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from nnlab.wire.confinement import Confinement
from nnlab.worker.sandbox import landlock, process, seccomp
from nnlab.worker.sandbox.limits import Limits
from nnlab.worker.sandbox.syscalls import Record


def _level(applied: Sequence[str], missing: Sequence[str] = ()) -> str:
    """'full', 'partial' or 'none', from the steps that applied."""
    names = set(applied)
    fs = any(a.startswith("landlock-abi") for a in names)
    net = bool(names & {"userns+netns", "netns", "landlock-net"})
    core = {"rlimits", "no_new_privs"}
    if fs and net and core <= names and "single-threaded" not in missing:
        return "full"
    security = {"userns+netns", "netns", "rlimits", "no_new_privs", "seccomp", "caps-dropped"}
    if fs or names & security:
        return "partial"
    return "none"


def confine(scratch: Path, readable: Sequence[Path], limits: Limits,
            keep_fds: Sequence[int] = ()) -> Confinement:
    """Confines the calling process for good and returns what was applied.

    Call it in a freshly forked, single-threaded worker before any student code is
    loaded: Landlock binds only the calling thread, and unshare(CLONE_NEWUSER) refuses
    a multi-threaded process. Afterwards the process can read the Python runtime, its
    packages (not nnlab's own package directory), system libraries and `readable`,
    write only beneath `scratch`, reach no network, signal and trace nothing outside
    itself, and start threads but no processes. Each step that the OS refuses is listed
    in `missing`; none of them raises.
    """
    return confine_recorded(Record(), scratch, readable, limits, keep_fds)


def confine_recorded(rec: Record, scratch: Path, readable: Sequence[Path], limits: Limits,
                     keep_fds: Sequence[int]) -> Confinement:
    """`confine`, noting in `rec` why each missing step failed."""
    scratch = Path(os.path.realpath(scratch))
    real_uid = os.getuid() if hasattr(os, "getuid") else -1
    _guard(rec, "single-threaded", lambda: process.threads(rec))
    _guard(rec, "setsid", lambda: process.setsid(rec))
    # Early, so that the fds the later steps open (O_PATH, rulesets) are their own.
    # The fork server's shared Landlock layer stays open until the Landlock step closes it.
    kept = [*keep_fds, *landlock.inherited_fds()]
    _guard(rec, "fds-closed", lambda: process.close_fds(rec, kept))
    # Before the scrub, which takes $NNLAB_COURSE away: the course that Landlock hides.
    hidden = landlock.course_dirs()
    _guard(rec, "env-scrubbed", lambda: process.scrub_env(rec, scratch))
    _guard(rec, "rlimits", lambda: process.rlimits(rec, limits))
    userns = bool(_guard(rec, "netns", lambda: process.namespaces(rec)))
    _guard(rec, "no_new_privs", lambda: process.no_new_privs(rec))
    # Before Landlock, which would hide /proc/sys/kernel/cap_last_cap.
    _guard(rec, "caps-dropped", lambda: process.drop_caps(rec))
    _guard(rec, "parent-death", lambda: process.die_with_parent(rec))
    _guard(rec, "landlock", lambda: landlock.restrict_files(rec, scratch, readable, limits.gpu, hidden))
    # Last: it refuses unshare, which the namespace step needs.
    banned = bool(_guard(rec, "seccomp", lambda: seccomp.install(rec, limits)))
    if not banned:  # seccomp missing, or processes allowed: bound them by count instead
        _guard(rec, "nproc", lambda: process.nproc_fallback(rec, limits, userns, real_uid))
    return Confinement(level=_level(rec.applied, rec.missing), applied=tuple(rec.applied),
                       missing=tuple(dict.fromkeys(rec.missing)))


def _guard(rec: Record, name: str, step: Callable[[], object]) -> object:
    """Runs one step; an unexpected error marks it missing instead of killing the worker."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - confinement must never crash the worker
        rec.miss(name, exc)
        return None

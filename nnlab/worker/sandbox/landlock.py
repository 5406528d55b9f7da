"""Landlock: the worker reads the Python runtime (not nnlab's own folder) and writes its scratch only."""
from __future__ import annotations

import ctypes
import os
import site
import stat
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnlab.worker.sandbox import syscalls
from nnlab.worker.sandbox.limits import nvidia_devices
from nnlab.worker.sandbox.syscalls import Record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

_LL_CREATE_RULESET_VERSION = 1
_LL_RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

# Rights that make sense on a regular file (others are rejected by the kernel for files).
FS_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
FS_READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR


def _fs_rights_for_abi(abi: int) -> int:
    """Every filesystem right the kernel's Landlock ABI `abi` knows."""
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # the kernel struct is __attribute__((packed)): 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel; 0 when Landlock is unavailable."""
    number = syscalls.nr("landlock_create_ruleset")
    if number is None:
        return 0
    try:
        return syscalls.syscall(number, ctypes.c_void_p(None), 0, _LL_CREATE_RULESET_VERSION)
    except OSError:
        return 0


def nnlab_dir() -> Path:
    """The nnlab package folder, hidden from the worker: solutions and hidden checks live beneath it."""
    import nnlab

    return Path(nnlab.__file__).resolve().parent


COURSE_ENV = "NNLAB_COURSE"
"""Names the course in force: every nnlab command exports it (nnlab.course.repository)."""


def _exercise_folders(course_file: Path) -> list[Path]:
    """The folders [course] `exercises` names (default ["exercises"]), wherever they lie.

    Read here, not through nnlab.course.config: the worker side imports nothing of the grader.
    A course.toml that cannot be read hides at least its default folder; the command that
    loaded it has already refused it anyway.
    """
    try:
        with open(course_file, "rb") as handle:
            folders = tomllib.load(handle).get("course", {}).get("exercises", ["exercises"])
    except (OSError, ValueError, AttributeError):
        folders = ["exercises"]
    if not isinstance(folders, list):
        folders = ["exercises"]
    return [course_file.parent / f for f in folders if isinstance(f, str) and f]


def course_dirs(named: str | None = None) -> list[Path]:
    """The course repository in force and every exercises folder it names, even one outside it
    (`exercises = ["../elsewhere"]`): hidden like the package, since solutions, hidden checks,
    mutants, tokens and the data folder may lie beneath them. `named` is $NNLAB_COURSE as it
    was before the worker's environment was scrubbed; None reads it now."""
    named = (os.environ.get(COURSE_ENV, "") if named is None else named).strip()
    if not named:
        return []
    try:  # never raises: it runs in the worker before confinement, which must not crash
        path = Path(os.path.realpath(named))
        course_file = path / "course.toml" if path.is_dir() else path
        found = [course_file.parent, *_exercise_folders(course_file)]
        return list(dict.fromkeys(Path(os.path.realpath(p)) for p in found))
    except (OSError, ValueError):  # a NUL in the name, say: hide what it names, as it is
        return [Path(os.path.abspath(named))]


def _resolve(p: Path | str) -> Path | None:
    try:
        return Path(os.path.realpath(p))
    except (OSError, ValueError):
        return None


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def split_around(root: Path, excluded: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Grants for `root` minus the `excluded` subtrees, which Landlock cannot subtract.

    Returns (full, listing): `full` gets the requested rights beneath it; `listing` are
    the directories on the way down to an excluded path. They keep READ_DIR so that
    Python's import system can still list them (its FileFinder caches directory
    listings and finds nothing when listing fails); only names leak that way, never
    file contents.
    """
    inside = [e for e in excluded if _is_within(e, root)]
    if not inside:
        return [root], []
    if root in inside:
        return [], []
    full: list[Path] = []
    listing: list[Path] = [root]
    try:
        children = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return [], listing
    for child in children:
        real = _resolve(child.path)
        if real is None:
            continue
        # An entry named after the package (nnlab-x.dist-info, editable-install finders)
        # describes the hidden files; leave it out too.
        if child.name.startswith("nnlab") and root.name in ("site-packages", "dist-packages"):
            continue
        if any(_is_within(real, e) for e in inside):
            continue  # the excluded path itself, or a link into it
        if any(_is_within(e, real) for e in inside):
            more_full, more_listing = split_around(real, inside)
            full += more_full
            listing += more_listing
        else:
            full.append(Path(child.path))
    return full, listing


def _runtime_roots() -> list[Path]:
    """Where the Python runtime, its packages and the shared libraries live."""
    roots: list[str] = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    paths = sysconfig.get_paths()
    roots += [paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]
    try:
        roots += site.getsitepackages()
    except AttributeError:  # old virtualenv's site module
        pass
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if user_site and os.path.isdir(user_site):
        roots.append(user_site)
    # Extension modules (torch's libtorch_cpu.so) were mapped before fork, but glibc,
    # OpenMP and MKL still dlopen() helpers lazily and read locale/zoneinfo data.
    roots += ["/usr/lib", "/lib", "/lib64", "/usr/lib64", "/usr/local/lib", "/usr/share/zoneinfo",
              "/etc/ld.so.cache", "/etc/localtime"]
    # os.cpu_count(), OpenMP and torch's cpuinfo read the CPU topology from sysfs/procfs.
    roots += ["/sys/devices/system/cpu", "/proc/cpuinfo", "/proc/meminfo"]
    return [Path(r) for r in roots if r]


_Key = tuple[tuple[Path, ...], bool, tuple[Path, ...]]
_prepared: tuple[_Key, tuple[tuple[Path, int], ...]] | None = None
"""The fixed rules the fork server worked out before its first fork (prepare_rules)."""


@dataclass(frozen=True)
class SharedLayer:
    """A Landlock ruleset the fork server built once, for every worker it forks to enforce
    first: the fixed rules (the runtime less the hidden folders, devices), all of /proc, and
    every right beneath the temporary folder, where each worker's scratch folder lies.

    A worker then adds a small layer of its own (the same grants unsplit, its own scratch
    folder and /proc entries) instead of hundreds of rules: Landlock allows an access only
    where every layer does, so the two together allow exactly what the one full layer would.
    Where nnlab is installed in site-packages (a wheel), the full layer lists site-packages
    entry by entry to leave nnlab out: 200-1,500 rules, 3-25 ms a worker, where the worker's
    own layer is ~20 rules. Used only where every worker's scratch folder lies beneath the
    temporary folder and nothing hidden does (_own_layer, _build_shared_layer)."""

    fd: int
    """The ruleset, inherited open by every worker, closed by each once enforced."""
    temp: Path
    """The folder beneath which the shared layer grants every right (a worker's scratch
    folder must lie beneath it for the worker to use this layer)."""
    roots: tuple[tuple[Path, int], ...]
    """The fixed grants before they were split around the hidden folders."""


_shared: SharedLayer | None = None


def prepare_rules(gpu: bool) -> None:
    """Works out, once in the fork server, every rule but the worker's own scratch folder for
    the workers it will fork (nothing readable beyond the runtime, the course in force hidden):
    each worker then skips the walk and the path look-ups (2-3 ms each; more where nnlab is
    installed inside site-packages, which is then listed entry by entry to leave it out).
    Where Landlock is there, also builds the shared layer (SharedLayer)."""
    global _prepared, _shared
    _forget_shared_layer()  # one built before (prepared again): closed, not leaked
    hidden = tuple(course_dirs())
    roots = _grant_roots([], gpu)
    _prepared = ((), gpu, hidden), tuple(_split_rules(roots, hidden))
    _shared = _build_shared_layer(roots, hidden, list(_prepared[1]))


def _build_shared_layer(roots: list[tuple[Path, int]], hidden: Sequence[Path],
                        fixed: list[tuple[Path, int]]) -> SharedLayer | None:
    """The shared layer, or None where it cannot stand in for the full one: no Landlock, or
    a hidden folder (nnlab, the course) beneath the temporary folder, which it opens whole."""
    abi = landlock_abi()
    temp = _resolve(tempfile.gettempdir())
    if abi < 1 or temp is None:
        return None
    if any(_is_within(e, temp) or _is_within(temp, e) for e in [nnlab_dir(), *hidden]):
        return None
    try:
        fd = _ruleset(abi, fixed + [(temp, -1), (Path("/proc"), FS_READ_FILE | FS_READ_DIR)], Record())
    except OSError:
        return None
    return SharedLayer(fd, temp, tuple(roots))


def _forget_shared_layer() -> None:
    """Closes this worker's copy of the shared layer (student code must not hold it), once."""
    global _shared
    if _shared is not None:
        try:
            os.close(_shared.fd)
        except OSError:
            pass
        _shared = None


def inherited_fds() -> list[int]:
    """The fds a worker must keep open until its Landlock step: the shared layer's."""
    return [_shared.fd] if _shared is not None else []


def landlock_rules(scratch: Path, readable: Sequence[Path], gpu: bool = False,
                   hidden: Sequence[Path] | None = None) -> list[tuple[Path, int]]:
    """(path, rights) rules before masking by the ABI; the nnlab package and `hidden` (default:
    the course in force, `course_dirs()`) are carved out (Landlock only grants, so they are
    left out of every grant)."""
    hidden = list(course_dirs() if hidden is None else hidden)
    fixed = list(_prepared[1]) if _prepared is not None and _prepared_for(readable, gpu, hidden) else \
        _split_rules(_grant_roots(readable, gpu), hidden)
    excluded = [nnlab_dir(), *hidden]
    # Each worker's own: /proc/self resolves to /proc/<this pid>, so only this process's own
    # entries open (resolved in the fork server, it would name the fork server's).
    own = _granted("/proc/self", FS_READ_FILE | FS_READ_DIR, excluded)
    return fixed + own + _granted(scratch, -1, excluded)  # scratch: everything the ABI handles


def _prepared_for(readable: Sequence[Path], gpu: bool, hidden: Sequence[Path]) -> bool:
    """Whether the fork server prepared its rules (and shared layer) for these settings."""
    key: _Key = (tuple(readable), gpu, tuple(hidden))
    return _prepared is not None and _prepared[0] == key


def _own_layer(scratch: Path, readable: Sequence[Path], gpu: bool,
               hidden: Sequence[Path]) -> list[tuple[Path, int]] | None:
    """The worker's own rules on top of the shared layer, or None where that layer does not
    fit this worker (built for other settings, or the scratch folder is not beneath it)."""
    real = _resolve(scratch)
    if _shared is None or not _prepared_for(readable, gpu, hidden) or real is None \
            or not _is_within(real, _shared.temp) or real == _shared.temp:
        return None
    own = _resolve("/proc/self")
    return [*_shared.roots, *([(own, FS_READ_FILE | FS_READ_DIR)] if own else []), (real, -1)]


def _granted(path: Path | str, rights: int, excluded: Sequence[Path]) -> list[tuple[Path, int]]:
    """The rules that grant `rights` beneath `path`, less the `excluded` subtrees."""
    real = _resolve(path)
    if real is None or not os.path.exists(real):
        return []
    full, listing = split_around(real, excluded)
    return [(p, rights) for p in full] + [(p, FS_READ_DIR) for p in listing]


def _grant_roots(readable: Sequence[Path], gpu: bool) -> list[tuple[Path, int]]:
    """What every worker may reach, as (resolved path, rights), before the hidden folders are
    split out; a folder beneath another with the same rights is left out (it adds nothing:
    Python's stdlib and site-packages lie beneath sys.prefix, which is a root already)."""
    wanted: list[tuple[Path | str, int]] = [(root, FS_READ_ONLY) for root in _runtime_roots()]
    wanted += [(path, FS_READ_ONLY) for path in readable]
    # Character devices some libraries open for writing ("w" means O_TRUNC too).
    wanted += [(dev, FS_READ_FILE | FS_WRITE_FILE | FS_TRUNCATE) for dev in ("/dev/null", "/dev/zero", "/dev/full")]
    wanted += [(dev, FS_READ_FILE) for dev in ("/dev/urandom", "/dev/random")]
    if gpu:
        # The CUDA driver talks to the GPU through ioctls on these, and reads the PCI
        # topology and its own /proc entries.
        wanted += [(dev, FS_READ_FILE | FS_WRITE_FILE | FS_IOCTL_DEV) for dev in nvidia_devices()]
        wanted += [(folder, FS_READ_ONLY) for folder in
                   ("/proc/driver/nvidia", "/sys/bus/pci", "/sys/devices", "/sys/module/nvidia")]
    resolved = [(real, rights) for path, rights in wanted
                if (real := _resolve(path)) is not None and os.path.exists(real)]
    kept = list(dict.fromkeys(resolved))
    return [(path, rights) for path, rights in kept
            if not any(other != path and rights == other_rights and _is_within(path, other)
                       for other, other_rights in kept)]


def _split_rules(roots: Sequence[tuple[Path, int]], hidden: Sequence[Path]) -> list[tuple[Path, int]]:
    """The grants of `roots`, less nnlab's folder and `hidden` (Landlock cannot subtract)."""
    excluded = [nnlab_dir(), *hidden]
    rules: list[tuple[Path, int]] = []
    for root, rights in roots:
        rules.extend(_granted(root, rights, excluded))
    return list(dict.fromkeys(rules))


def _ruleset(abi: int, rules: Sequence[tuple[Path, int]], rec: Record) -> int:
    """A new ruleset fd with every right the ABI knows handled and `rules` added; a rule that
    the kernel refuses costs only its own access (noted in `rec`): failing closed."""
    fs_all = _fs_rights_for_abi(abi)
    attr = _RulesetAttr(handled_access_fs=fs_all)
    if abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP  # no net rules: all denied
    if abi >= 6:
        attr.scoped = SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET
    ruleset = syscalls.syscall(syscalls.number("landlock_create_ruleset"),
                               ctypes.c_void_p(ctypes.addressof(attr)), ctypes.sizeof(attr), 0)
    add_rule = syscalls.number("landlock_add_rule")
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # vanished or unreadable: nothing to grant
            try:
                allowed = rights & fs_all
                if not stat.S_ISDIR(os.fstat(fd).st_mode):  # fstat works on O_PATH fds
                    allowed &= FS_FILE_RIGHTS
                if not allowed:
                    continue
                pb = _PathBeneathAttr(allowed_access=allowed, parent_fd=fd)
                try:
                    syscalls.syscall(add_rule, ruleset, _LL_RULE_PATH_BENEATH,
                                     ctypes.c_void_p(ctypes.addressof(pb)), 0)
                except OSError as exc:
                    rec.notes[f"landlock rule {path}"] = str(exc)
            finally:
                os.close(fd)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def _restrict_self(ruleset: int) -> None:
    syscalls.syscall(syscalls.number("landlock_restrict_self"), ruleset, 0)


def _enforce_layers(abi: int, shared_fd: int, own: Sequence[tuple[Path, int]], rec: Record) -> bool:
    """Enforces the shared layer, then the worker's own; False (nothing enforced) where the
    shared one is refused, so the caller falls back to the full layer. Once the shared layer
    holds, the worker's own must too: alone, the shared one opens every worker's scratch
    folder and all of /proc, so a worker that cannot add its own ends here."""
    try:
        ruleset = _ruleset(abi, own, rec)
    except OSError:
        return False
    try:
        try:
            _restrict_self(shared_fd)
        except OSError:
            return False
        try:
            _restrict_self(ruleset)
        except OSError:
            os._exit(_HALF_CONFINED_EXIT)
        return True
    finally:
        os.close(ruleset)


_HALF_CONFINED_EXIT = 86
"""A worker's exit status when the shared layer held but its own layer was refused."""


def restrict_files(rec: Record, scratch: Path, readable: Sequence[Path], gpu: bool = False,
                   hidden: Sequence[Path] | None = None) -> None:
    """Landlock: read-only runtime, read-write scratch, no network, no signals out (per ABI);
    `hidden` as for landlock_rules. Enforced as the fork server's shared layer plus a small
    one of the worker's own where the shared layer fits, else as one full layer."""
    shared_fd = _shared.fd if _shared is not None else None
    try:
        abi = landlock_abi()
        if abi < 1:
            rec.miss("landlock", "kernel has no Landlock (or it is disabled)")
            return
        hidden = list(course_dirs() if hidden is None else hidden)
        own = _own_layer(scratch, readable, gpu, hidden)
        if own is None or shared_fd is None or not _enforce_layers(abi, shared_fd, own, rec):
            try:
                ruleset = _ruleset(abi, landlock_rules(scratch, readable, gpu, hidden), rec)
            except OSError as exc:
                rec.miss("landlock", exc)
                return
            try:
                _restrict_self(ruleset)
            except OSError as exc:
                rec.miss("landlock", exc)
                return
            finally:
                os.close(ruleset)
    finally:
        _forget_shared_layer()
    rec.ok(f"landlock-abi{abi}")
    if abi >= 4:
        rec.ok("landlock-net")
    else:
        rec.miss("landlock-net", f"needs Landlock ABI 4, kernel has {abi}")
    if abi >= 6:
        rec.ok("landlock-scope")
    else:
        rec.miss("landlock-scope", f"needs Landlock ABI 6, kernel has {abi}")

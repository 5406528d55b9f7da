"""Confines a freshly forked grader worker with what the OS allows: namespaces, rlimits, Landlock, seccomp."""
from __future__ import annotations

import ctypes
import errno
import glob
import functools
import json
import os
import platform
import select
import signal
import site
import stat
import struct
import sys
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nnlab.wire.confinement import Confinement

try:  # Unix only; a Windows laptop simply gets no rlimits.
    import resource
except ImportError:  # pragma: no cover - not on Linux/macOS
    resource = None  # type: ignore[assignment]

__all__ = ["Limits", "confine", "landlock_abi", "probe", "probe_notes"]


@dataclass(frozen=True)
class Limits:
    """Resource limits for one worker process; 0 switches off a CPU, memory, file-size or fd limit."""

    cpu_s: int = 60
    """RLIMIT_CPU soft limit (SIGXCPU); the hard limit (SIGKILL) is 2 s later."""
    memory_bytes: int = 6 * 2**30
    """RLIMIT_AS (RLIMIT_DATA with `gpu`). A CPU torch worker maps about 0.7-1.5 GiB of
    address space (more with many cores: glibc reserves 64 MiB per malloc arena), so 6 GiB
    leaves room for real tensors while a 20 GB allocation fails with MemoryError."""
    file_size_bytes: int = 64 * 2**20
    """RLIMIT_FSIZE; SIGXFSZ is ignored so an oversized write raises OSError(EFBIG)."""
    open_files: int = 256
    """RLIMIT_NOFILE."""
    max_processes: int = 0
    """Child processes the worker may start. 0: seccomp refuses fork/vfork/clone of a
    process (threads still work), and where seccomp is missing RLIMIT_NPROC caps the
    worker's tasks near what torch's thread pools need."""
    gpu: bool = False
    """Let the worker use NVIDIA GPUs: /dev/nvidia* open for read, write and ioctl, the
    driver's /proc and /sys entries readable, and memory limited with RLIMIT_DATA instead
    of RLIMIT_AS, because the CUDA driver reserves tens of GiB of address space that
    RLIMIT_AS would count (RLIMIT_DATA counts only private writable memory)."""


def nvidia_devices() -> list[str]:
    """The NVIDIA device files of this machine (none without a driver)."""
    return sorted(glob.glob("/dev/nvidia*")) if _LINUX else []


# --- small helpers ------------------------------------------------------------------

_LINUX = sys.platform.startswith("linux")
_MACHINE = platform.machine().lower()


class _Record:
    """What confinement steps applied and what they could not."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.missing: list[str] = []
        self.notes: dict[str, str] = {}

    def ok(self, name: str) -> None:
        self.applied.append(name)

    def miss(self, name: str, why: BaseException | str | None = None) -> None:
        self.missing.append(name)
        if why is not None:
            self.notes[name] = why if isinstance(why, str) else f"{type(why).__name__}: {why}"


@functools.lru_cache(maxsize=None)
def _libc() -> ctypes.CDLL | None:
    if not _LINUX:
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _check(ret: int, what: str) -> int:
    """Turns a -1 libc return into OSError with errno, as os.* functions do."""
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _syscall(number: int, *args: int | ctypes.c_void_p | None) -> int:
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, "no libc")
    fn = libc.syscall
    fn.restype = ctypes.c_long
    conv = [a if isinstance(a, ctypes.c_void_p) else ctypes.c_long(a or 0) for a in args]
    return _check(fn(ctypes.c_long(number), *conv), f"syscall {number}")


def _prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    libc = _libc()
    if libc is None:
        raise OSError(errno.ENOSYS, "no prctl")
    fn = libc.prctl
    fn.restype = ctypes.c_int
    return _check(
        fn(ctypes.c_int(option), *(ctypes.c_ulong(a) for a in (arg2, arg3, arg4, arg5))),
        f"prctl {option}",
    )


# Syscall numbers that differ per architecture; only these two are supported for seccomp.
_X86_64 = _MACHINE in ("x86_64", "amd64")
_AARCH64 = _MACHINE in ("aarch64", "arm64")
_NR = {
    # name: (x86_64, aarch64)
    "landlock_create_ruleset": (444, 444),
    "landlock_add_rule": (445, 445),
    "landlock_restrict_self": (446, 446),
    "seccomp": (317, 277),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "unshare": (272, 97),
    "setns": (308, 268),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "personality": (135, 92),
    "prctl": (157, 167),
    "socket": (41, 198),
    "clone": (56, 220),
    "fork": (57, None),
    "vfork": (58, None),
    "clone3": (435, 435),
    "kill": (62, 129),
    "tkill": (200, 130),
    "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
    "pidfd_open": (434, 434),
    "pidfd_getfd": (438, 438),
    "pidfd_send_signal": (424, 424),
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
    "userfaultfd": (323, 282),
    "open_by_handle_at": (304, 265),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "move_mount": (429, 429),
    "open_tree": (428, 428),
    "mount_setattr": (442, 442),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "reboot": (169, 142),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "quotactl": (179, 60),
    "acct": (163, 89),
    "syslog": (103, 116),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
    "settimeofday": (164, 170),
    "clock_settime": (227, 112),
    "adjtimex": (159, 171),
    "clock_adjtime": (305, 266),
    "iopl": (172, None),
    "ioperm": (173, None),
    "prlimit64": (302, 261),
    "setpriority": (141, 140),
    "ioprio_set": (251, 30),
    "sched_setaffinity": (203, 122),
    "sched_setscheduler": (144, 119),
    "sched_setparam": (142, 118),
    "sched_setattr": (314, 274),
    "migrate_pages": (256, 238),
    "move_pages": (279, 239),
    "get_robust_list": (274, 100),
    "kcmp": (312, 272),
    "process_madvise": (440, 440),
}


def _nr(name: str) -> int | None:
    pair = _NR.get(name)
    if pair is None:
        return None
    return pair[0] if _X86_64 else pair[1] if _AARCH64 else None


# --- Landlock ------------------------------------------------------------------------

_LL_CREATE_RULESET_VERSION = 1
_LL_RULE_PATH_BENEATH = 1

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_CHAR = 1 << 6
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
_FS_MAKE_SOCK = 1 << 9
_FS_MAKE_FIFO = 1 << 10
_FS_MAKE_BLOCK = 1 << 11
_FS_MAKE_SYM = 1 << 12
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1

# Rights that make sense on a regular file (others are rejected by the kernel for files).
_FS_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV
_FS_READ_ONLY = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR


def _fs_rights_for_abi(abi: int) -> int:
    rights = (1 << 13) - 1  # ABI 1: EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
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
    nr = _nr("landlock_create_ruleset")
    if nr is None:
        return 0
    try:
        return _syscall(nr, ctypes.c_void_p(None), 0, _LL_CREATE_RULESET_VERSION)
    except OSError:
        return 0


def _nnlab_dir() -> Path:
    # The whole nnlab package: solutions and hidden checks live beneath it.
    import nnlab

    return Path(nnlab.__file__).resolve().parent


def _resolve(p: Path | str) -> Path | None:
    try:
        return Path(os.path.realpath(p))
    except (OSError, ValueError):
        return None


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _split_around(root: Path, excluded: Sequence[Path]) -> tuple[list[Path], list[Path]]:
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
            more_full, more_listing = _split_around(real, inside)
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


def _landlock_rules(scratch: Path, readable: Sequence[Path],
                    gpu: bool = False) -> list[tuple[Path, int]]:
    """(path, rights) rules before masking by the ABI; the nnlab package is carved out."""
    excluded = [_nnlab_dir()]
    rules: list[tuple[Path, int]] = []
    seen: set[Path] = set()

    def grant(path: Path | str, rights: int) -> None:
        real = _resolve(path)
        if real is None or not os.path.exists(real):
            return
        full, listing = _split_around(real, excluded)
        for p in full:
            rules.append((p, rights))
        for p in listing:
            rules.append((p, _FS_READ_DIR))

    for root in _runtime_roots():
        real = _resolve(root)
        if real is not None and real not in seen:
            seen.add(real)
            grant(real, _FS_READ_ONLY)
    for path in readable:
        grant(path, _FS_READ_ONLY)
    # Character devices some libraries open for writing ("w" means O_TRUNC too).
    for dev in ("/dev/null", "/dev/zero", "/dev/full"):
        grant(dev, _FS_READ_FILE | _FS_WRITE_FILE | _FS_TRUNCATE)
    for dev in ("/dev/urandom", "/dev/random"):
        grant(dev, _FS_READ_FILE)
    # /proc/self resolves to /proc/<this pid>, so only this process's own entries open.
    grant("/proc/self", _FS_READ_FILE | _FS_READ_DIR)
    if gpu:
        # The CUDA driver talks to the GPU through ioctls on these, and reads the PCI
        # topology and its own /proc entries.
        for dev in nvidia_devices():
            grant(dev, _FS_READ_FILE | _FS_WRITE_FILE | _FS_IOCTL_DEV)
        for root in ("/proc/driver/nvidia", "/sys/bus/pci", "/sys/devices", "/sys/module/nvidia"):
            grant(root, _FS_READ_ONLY)
    grant(scratch, -1)  # everything the ABI handles
    return rules


def _landlock(rec: _Record, scratch: Path, readable: Sequence[Path], gpu: bool = False) -> None:
    abi = landlock_abi()
    if abi < 1:
        rec.miss("landlock", "kernel has no Landlock (or it is disabled)")
        return
    fs_all = _fs_rights_for_abi(abi)
    attr = _RulesetAttr(handled_access_fs=fs_all)
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP  # no net rules: all denied
    if abi >= 6:
        attr.scoped = _SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX_SOCKET
    try:
        rules = _landlock_rules(scratch, readable, gpu)
        ruleset = _syscall(_nr("landlock_create_ruleset"), ctypes.c_void_p(ctypes.addressof(attr)),
                           ctypes.sizeof(attr), 0)
    except OSError as exc:
        rec.miss("landlock", exc)
        return
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # vanished or unreadable: nothing to grant
            try:
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)  # fstat works on O_PATH fds
                allowed = rights & fs_all
                if not is_dir:
                    allowed &= _FS_FILE_RIGHTS
                if not allowed:
                    continue
                pb = _PathBeneathAttr(allowed_access=allowed, parent_fd=fd)
                try:
                    _syscall(_nr("landlock_add_rule"), ruleset, _LL_RULE_PATH_BENEATH,
                             ctypes.c_void_p(ctypes.addressof(pb)), 0)
                except OSError as exc:
                    # One odd path (say, a special filesystem) costs only its own
                    # access; failing closed is the safe direction.
                    rec.notes[f"landlock rule {path}"] = str(exc)
            finally:
                os.close(fd)
        _syscall(_nr("landlock_restrict_self"), ruleset, 0)
    except OSError as exc:
        rec.miss("landlock", exc)
        return
    finally:
        os.close(ruleset)
    rec.ok(f"landlock-abi{abi}")
    if abi >= 4:
        rec.ok("landlock-net")
    else:
        rec.miss("landlock-net", f"needs Landlock ABI 4, kernel has {abi}")
    if abi >= 6:
        rec.ok("landlock-scope")
    else:
        rec.miss("landlock-scope", f"needs Landlock ABI 6, kernel has {abi}")


# --- seccomp (a hand-assembled classic BPF filter: no libseccomp needed) --------------

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_BPF_JA = 0x05

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_AUDIT_ARCH_X86_64 = 0xC000003E
_AUDIT_ARCH_AARCH64 = 0xC00000B7
_X32_SYSCALL_BIT = 0x40000000
_CLONE_THREAD = 0x00010000
_CLONE_NS_FLAGS = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_OFF_NR, _OFF_ARCH, _OFF_ARG = 0, 4, 16  # struct seccomp_data; args are u64, little-endian

# Syscalls the worker never needs and that reach outside it or into the kernel's attack
# surface. ptrace/process_vm_* would read the grader's memory; mount-ish and unshare/
# setns would undo the namespaces; io_uring bypasses seccomp for its operations;
# socket: the worker talks to the grader over an inherited fd and needs no new socket
# (a pathname AF_UNIX socket such as a container runtime's is not covered by Landlock).
_DENY_EPERM = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf",
    "perf_event_open", "socket", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "userfaultfd", "open_by_handle_at", "fsopen", "fsconfig", "fsmount", "fspick",
    "move_mount", "open_tree", "mount_setattr", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
    "quotactl", "acct", "syslog", "sethostname", "setdomainname", "settimeofday",
    "clock_settime", "adjtimex", "clock_adjtime", "iopl", "ioperm", "pidfd_open",
    "pidfd_getfd", "pidfd_send_signal", "kcmp", "process_madvise",
)
# Calls whose first argument names a process: allowed for this process only, so the
# worker cannot signal, renice, pin, or lower the limits of the grader. prlimit64 and
# sched_* on a same-uid process need no capability and Landlock has no hook for them;
# the page-moving calls only check ptrace access, which Landlock covers where present.
_OWN_PID_ARG0 = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo",
                 "prlimit64", "sched_setaffinity", "sched_setscheduler", "sched_setparam",
                 "sched_setattr", "migrate_pages", "move_pages", "get_robust_list")
# (which, who) calls: PRIO_PROCESS = 0, IOPRIO_WHO_PROCESS = 1; other "which" values
# address whole groups or users (all of root's processes, for a root grader).
_OWN_PID_ARG1 = {"setpriority": 0, "ioprio_set": 1}
_PR_SET_DUMPABLE = 4


class _Asm:
    """A tiny classic-BPF assembler with forward labels.

    Conditional jumps reach only 255 instructions ahead, so dispatch uses `goto`
    (BPF_JA, 32-bit offset) and each argument check ends in its own returns.
    """

    def __init__(self) -> None:
        self.code: list[tuple[int, int | str, int | str, int | str]] = []
        self.labels: dict[str, int] = {}

    def label(self, name: str) -> None:
        self.labels[name] = len(self.code)

    def ld(self, offset: int) -> None:
        self.code.append((_BPF_LD_W_ABS, 0, 0, offset))

    def jump(self, op: int, k: int, jt: int | str = 0, jf: int | str = 0) -> None:
        self.code.append((op, jt, jf, k & 0xFFFFFFFF))

    def goto(self, target: str) -> None:
        self.code.append((_BPF_JA, 0, 0, target))

    def ret(self, value: int) -> None:
        self.code.append((_BPF_RET_K, 0, 0, value))

    def assemble(self) -> bytes:
        out = bytearray()
        for i, (op, jt, jf, k) in enumerate(self.code):
            offs = []
            for target in (jt, jf):
                off = self.labels[target] - i - 1 if isinstance(target, str) else target
                if not 0 <= off <= 255:
                    raise ValueError("BPF jump out of range")
                offs.append(off)
            if isinstance(k, str):
                k = self.labels[k] - i - 1
            out += struct.pack("<HBBI", op, offs[0], offs[1], k)
        return bytes(out)


def _seccomp_program(pid: int, ban_processes: bool) -> bytes:
    arch = _AUDIT_ARCH_X86_64 if _X86_64 else _AUDIT_ARCH_AARCH64
    eperm = _RET_ERRNO | errno.EPERM
    a = _Asm()

    def on(name: str, target: str) -> None:
        nr = _nr(name)
        if nr is not None:
            a.jump(_BPF_JEQ_K, nr, 0, 1)
            a.goto(target)

    a.ld(_OFF_ARCH)
    a.jump(_BPF_JEQ_K, arch, 1, 0)
    a.ret(eperm)  # another ABI (i386 int 0x80 on x86_64) would dodge the numbers below
    a.ld(_OFF_NR)
    if _X86_64:
        a.jump(_BPF_JGE_K, _X32_SYSCALL_BIT, 0, 1)
        a.ret(eperm)
    for name in _DENY_EPERM:
        nr = _nr(name)
        if nr is not None:
            a.jump(_BPF_JEQ_K, nr, 0, 1)
            a.ret(eperm)
    for name in _OWN_PID_ARG0:
        on(name, f"own0_{name}")
    for name in _OWN_PID_ARG1:
        on(name, f"own1_{name}")
    on("personality", "personality")
    on("prctl", "prctl")
    on("clone", "clone" if ban_processes else "clone_ns")
    # glibc tries clone3 first and falls back to clone on ENOSYS; clone3 passes its flags
    # in memory that seccomp cannot inspect.
    clone3 = _nr("clone3")
    a.jump(_BPF_JEQ_K, clone3, 0, 1)
    a.ret(_RET_ERRNO | errno.ENOSYS)
    if ban_processes:
        for name in ("fork", "vfork"):
            nr = _nr(name)
            if nr is not None:
                a.jump(_BPF_JEQ_K, nr, 0, 1)
                a.ret(eperm)
    a.ret(_RET_ALLOW)

    # Argument checks: the low 32 bits of an argument, as the kernel reads a pid_t/int.
    for name in _OWN_PID_ARG0:
        if _nr(name) is None:
            continue
        a.label(f"own0_{name}")
        a.ld(_OFF_ARG)
        a.jump(_BPF_JEQ_K, pid, f"yes0_{name}", 0)
        # 0 = this process (for kill: its group, which after setsid is the worker alone)
        a.jump(_BPF_JEQ_K, 0, f"yes0_{name}", 0)
        if name == "kill":
            a.jump(_BPF_JEQ_K, -pid, f"yes0_{name}", 0)  # the worker's own process group
        a.ret(eperm)
        a.label(f"yes0_{name}")
        a.ret(_RET_ALLOW)
    for name, which in _OWN_PID_ARG1.items():
        if _nr(name) is None:
            continue
        a.label(f"own1_{name}")
        a.ld(_OFF_ARG)
        a.jump(_BPF_JEQ_K, which, 0, f"no1_{name}")
        a.ld(_OFF_ARG + 8)
        a.jump(_BPF_JEQ_K, pid, f"yes1_{name}", 0)
        a.jump(_BPF_JEQ_K, 0, f"yes1_{name}", 0)
        a.label(f"no1_{name}")
        a.ret(eperm)
        a.label(f"yes1_{name}")
        a.ret(_RET_ALLOW)
    a.label("personality")
    a.ld(_OFF_ARG)
    a.jump(_BPF_JEQ_K, 0xFFFFFFFF, 0, 1)  # a query changes nothing
    a.ret(_RET_ALLOW)
    a.ret(eperm)
    a.label("prctl")
    a.ld(_OFF_ARG)
    # PR_SET_DUMPABLE: not dumpable, the grader could no longer move a timing's inputs
    # and outputs in and out of the stopped worker (nnlab.grader.freezer).
    a.jump(_BPF_JEQ_K, _PR_SET_DUMPABLE, 0, 1)
    a.ret(eperm)
    a.ret(_RET_ALLOW)
    a.label("clone")
    a.ld(_OFF_ARG)
    a.jump(_BPF_JSET_K, _CLONE_NS_FLAGS, 1, 0)
    a.jump(_BPF_JSET_K, _CLONE_THREAD, 1, 0)  # threads yes, processes no
    a.ret(eperm)
    a.ret(_RET_ALLOW)
    a.label("clone_ns")
    a.ld(_OFF_ARG)
    a.jump(_BPF_JSET_K, _CLONE_NS_FLAGS, 0, 1)
    a.ret(eperm)
    a.ret(_RET_ALLOW)
    return a.assemble()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp(rec: _Record, limits: Limits) -> bool:
    """Installs the filter; returns whether it bans new processes."""
    if not (_X86_64 or _AARCH64) or not _LINUX:
        rec.miss("seccomp", f"no syscall table for {sys.platform}/{_MACHINE}")
        return False
    ban = limits.max_processes <= 0
    try:
        program = _seccomp_program(os.getpid(), ban)
        buf = ctypes.create_string_buffer(program, len(program))
        prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
        ptr = ctypes.c_void_p(ctypes.addressof(prog))
        try:
            # SECCOMP_SET_MODE_FILTER with TSYNC: every thread, should there be more than one.
            _syscall(_nr("seccomp"), 1, 1, ptr)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            _prctl(22, 2, ptr.value or 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    except (OSError, ValueError) as exc:
        rec.miss("seccomp", exc)
        return False
    rec.ok("seccomp")
    return ban


# --- the other steps -----------------------------------------------------------------


def _setsid(rec: _Record) -> None:
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


def _unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(flags)
    else:
        libc = _libc()
        if libc is None:
            raise OSError(errno.ENOSYS, "no unshare")
        _check(libc.unshare(ctypes.c_int(flags)), "unshare")


def _namespaces(rec: _Record) -> bool:
    """New user + network namespace: no network but a down loopback. Returns userns-ness."""
    if not _LINUX:
        rec.miss("netns", f"no namespaces on {sys.platform}")
        return False
    userns = False
    try:
        _unshare(_CLONE_NEWUSER | _CLONE_NEWNET)
        userns = True
        rec.ok("userns+netns")
    except OSError as exc:
        try:
            _unshare(_CLONE_NEWNET)  # a real root may do without a user namespace
            rec.ok("netns")
            rec.miss("userns", exc)
        except OSError as exc2:
            rec.miss("netns", exc2)
            return False
    try:
        # SysV IPC and POSIX message queues would outlive the worker and are shared
        # with the grader's IPC namespace otherwise.
        _unshare(_CLONE_NEWIPC)
        rec.ok("ipcns")
    except OSError as exc:
        rec.miss("ipcns", exc)
    return userns


def _rlimits(rec: _Record, limits: Limits) -> None:
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


def _nproc_fallback(rec: _Record, limits: Limits, userns: bool, real_uid: int) -> None:
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


def _no_new_privs(rec: _Record) -> None:
    if not _LINUX:
        rec.miss("no_new_privs", f"no prctl on {sys.platform}")
        return
    try:
        _prctl(38, 1)  # PR_SET_NO_NEW_PRIVS: exec can never gain privileges again
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


def _drop_caps(rec: _Record) -> None:
    """Empties every capability set: matters when the grader runs as root in a container."""
    libc = _libc()
    if libc is None:
        return
    try:
        try:
            last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
        except (OSError, ValueError):
            last = 63
        for cap in range(last + 1):
            try:
                _prctl(24, cap)  # PR_CAPBSET_DROP: exec as uid 0 regains nothing
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    break  # past the kernel's last capability
                if exc.errno != errno.EPERM:
                    raise
        try:
            _prctl(47, 4)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
        except OSError:
            pass
        header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
        data = (_CapData * 2)()
        _check(libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
        rec.ok("caps-dropped")
    except OSError as exc:
        rec.miss("caps-dropped", exc)


_KEPT_ENV = ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")
"""Kept so the worker uses the threads and the GPU the grader measures its reference on."""


def _scrub_env(rec: _Record, scratch: Path) -> None:
    kept = {k: os.environ[k] for k in _KEPT_ENV if k in os.environ}
    try:
        # clear() unsets each variable, so C code (getenv) sees the scrubbed set too.
        os.environ.clear()
        os.environ.update({"PATH": "/usr/bin:/bin", "HOME": str(scratch), "TMPDIR": str(scratch),
                           "LANG": "C.UTF-8", **kept})
        tempfile.tempdir = None  # re-read TMPDIR on next use
        rec.ok("env-scrubbed")
    except OSError as exc:
        rec.miss("env-scrubbed", exc)


def _close_fds(rec: _Record, keep_fds: Sequence[int]) -> None:
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


def _threads(rec: _Record) -> None:
    """Landlock binds only the calling thread; another thread would stay unconfined."""
    try:
        count = len(os.listdir("/proc/self/task"))
    except OSError:
        return  # no procfs (macOS): nothing to tell
    if count > 1:
        rec.miss("single-threaded", f"{count} threads: only the calling one is confined by Landlock")


def _level(applied: Sequence[str], missing: Sequence[str] = ()) -> str:
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
    return _confine(_Record(), scratch, readable, limits, keep_fds)


def _confine(rec: _Record, scratch: Path, readable: Sequence[Path], limits: Limits,
             keep_fds: Sequence[int]) -> Confinement:
    scratch = Path(os.path.realpath(scratch))
    real_uid = os.getuid() if hasattr(os, "getuid") else -1
    _guard(rec, "single-threaded", lambda: _threads(rec))
    _guard(rec, "setsid", lambda: _setsid(rec))
    # Early, so that the fds the later steps open (O_PATH, rulesets) are their own.
    _guard(rec, "fds-closed", lambda: _close_fds(rec, keep_fds))
    _guard(rec, "env-scrubbed", lambda: _scrub_env(rec, scratch))
    _guard(rec, "rlimits", lambda: _rlimits(rec, limits))
    userns = bool(_guard(rec, "netns", lambda: _namespaces(rec)))
    _guard(rec, "no_new_privs", lambda: _no_new_privs(rec))
    # Before Landlock, which would hide /proc/sys/kernel/cap_last_cap.
    _guard(rec, "caps-dropped", lambda: _drop_caps(rec))
    _guard(rec, "landlock", lambda: _landlock(rec, scratch, readable, limits.gpu))
    # Last: it refuses unshare, which the namespace step needs.
    banned = bool(_guard(rec, "seccomp", lambda: _seccomp(rec, limits)))
    if not banned:  # seccomp missing, or processes allowed: bound them by count instead
        _guard(rec, "nproc", lambda: _nproc_fallback(rec, limits, userns, real_uid))
    return Confinement(level=_level(rec.applied, rec.missing), applied=tuple(rec.applied),
                       missing=tuple(dict.fromkeys(rec.missing)))


def _guard(rec: _Record, name: str, step: Callable[[], object]) -> object:
    """Runs one step; an unexpected error marks it missing instead of killing the worker."""
    try:
        return step()
    except Exception as exc:  # noqa: BLE001 - confinement must never crash the worker
        rec.miss(name, exc)
        return None


# --- probe ---------------------------------------------------------------------------

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
    _libc()  # load libc here: the child of a threaded parent had better not dlopen
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
                rec = _Record()
                result = _confine(rec, Path(scratch), [], Limits(), (write_fd,))
                payload = json.dumps({"level": result.level, "applied": result.applied,
                                      "missing": result.missing, "notes": rec.notes}).encode()
                os.write(write_fd, payload)
            except BaseException:  # noqa: BLE001
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

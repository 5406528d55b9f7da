"""The system calls confinement makes, by number where Python has no wrapper, and its record."""
from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import sys

LINUX = sys.platform.startswith("linux")
MACHINE = platform.machine().lower()


class Record:
    """What confinement steps applied and what they could not (and why)."""

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


@functools.cache
def libc() -> ctypes.CDLL | None:
    """This process's C library (None off Linux)."""
    if not LINUX:
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def check(ret: int, what: str) -> int:
    """Turns a -1 libc return into OSError with errno, as os.* functions do."""
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def syscall(number: int, *args: int | ctypes.c_void_p | None) -> int:
    """A raw syscall; OSError on failure."""
    lib = libc()
    if lib is None:
        raise OSError(errno.ENOSYS, "no libc")
    fn = lib.syscall
    fn.restype = ctypes.c_long
    conv = [a if isinstance(a, ctypes.c_void_p) else ctypes.c_long(a or 0) for a in args]
    return check(fn(ctypes.c_long(number), *conv), f"syscall {number}")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    """prctl(2); OSError on failure."""
    lib = libc()
    if lib is None:
        raise OSError(errno.ENOSYS, "no prctl")
    fn = lib.prctl
    fn.restype = ctypes.c_int
    return check(
        fn(ctypes.c_int(option), *(ctypes.c_ulong(a) for a in (arg2, arg3, arg4, arg5))),
        f"prctl {option}",
    )


# Syscall numbers that differ per architecture; only these two are supported for seccomp.
X86_64 = MACHINE in ("x86_64", "amd64")
AARCH64 = MACHINE in ("aarch64", "arm64")
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


def nr(name: str) -> int | None:
    """This architecture's number for a syscall; None where it has none (or no table)."""
    pair = _NR.get(name)
    if pair is None:
        return None
    return pair[0] if X86_64 else pair[1] if AARCH64 else None


def number(name: str) -> int:
    """`nr(name)`, or OSError(ENOSYS) where this architecture has none, as the kernel would answer."""
    found = nr(name)
    if found is None:
        raise OSError(errno.ENOSYS, f"no number for the {name} syscall here")
    return found

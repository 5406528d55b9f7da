"""seccomp: a hand-assembled classic BPF filter (no libseccomp needed) over the worker's syscalls."""
from __future__ import annotations

import ctypes
import errno
import os
import struct
import sys

from nnlab.worker.sandbox import syscalls
from nnlab.worker.sandbox.limits import Limits
from nnlab.worker.sandbox.syscalls import Record

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


def seccomp_program(pid: int, ban_processes: bool) -> bytes:
    """The filter for the worker whose pid is `pid`: denied calls, own-process-only calls,
    and (with `ban_processes`) no new processes, threads still allowed."""
    a = _Asm()
    _dispatch(a, ban_processes)
    _own_process_checks(a, pid)
    _flag_checks(a)
    return a.assemble()


def _dispatch(a: _Asm, ban_processes: bool) -> None:
    """By syscall number: deny, allow, or jump to the checks of its arguments."""
    arch = _AUDIT_ARCH_X86_64 if syscalls.X86_64 else _AUDIT_ARCH_AARCH64
    eperm = _RET_ERRNO | errno.EPERM

    def on(name: str, target: str) -> None:
        number = syscalls.nr(name)
        if number is not None:
            a.jump(_BPF_JEQ_K, number, 0, 1)
            a.goto(target)

    a.ld(_OFF_ARCH)
    a.jump(_BPF_JEQ_K, arch, 1, 0)
    a.ret(eperm)  # another ABI (i386 int 0x80 on x86_64) would dodge the numbers below
    a.ld(_OFF_NR)
    if syscalls.X86_64:
        a.jump(_BPF_JGE_K, _X32_SYSCALL_BIT, 0, 1)
        a.ret(eperm)
    for name in _DENY_EPERM:
        number = syscalls.nr(name)
        if number is not None:
            a.jump(_BPF_JEQ_K, number, 0, 1)
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
    clone3 = syscalls.number("clone3")
    a.jump(_BPF_JEQ_K, clone3, 0, 1)
    a.ret(_RET_ERRNO | errno.ENOSYS)
    if ban_processes:
        for name in ("fork", "vfork"):
            number = syscalls.nr(name)
            if number is not None:
                a.jump(_BPF_JEQ_K, number, 0, 1)
                a.ret(eperm)
    a.ret(_RET_ALLOW)


def _own_process_checks(a: _Asm, pid: int) -> None:
    """Calls that name a process: allowed for the worker itself only. The low 32 bits of an
    argument are read, as the kernel reads a pid_t/int."""
    eperm = _RET_ERRNO | errno.EPERM
    for name in _OWN_PID_ARG0:
        if syscalls.nr(name) is None:
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
        if syscalls.nr(name) is None:
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


def _flag_checks(a: _Asm) -> None:
    """personality (queries only), prctl (not PR_SET_DUMPABLE), clone (by its flags)."""
    eperm = _RET_ERRNO | errno.EPERM
    a.label("personality")
    a.ld(_OFF_ARG)
    a.jump(_BPF_JEQ_K, 0xFFFFFFFF, 0, 1)  # a query changes nothing
    a.ret(_RET_ALLOW)
    a.ret(eperm)
    a.label("prctl")
    a.ld(_OFF_ARG)
    # PR_SET_DUMPABLE: not dumpable, the grader could no longer move a timing's inputs
    # and outputs in and out of the stopped worker (nnlab.grader.timing.freezer).
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


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(rec: Record, limits: Limits) -> bool:
    """Installs the filter; returns whether it bans new processes."""
    if not (syscalls.X86_64 or syscalls.AARCH64) or not syscalls.LINUX:
        rec.miss("seccomp", f"no syscall table for {sys.platform}/{syscalls.MACHINE}")
        return False
    ban = limits.max_processes <= 0
    try:
        program = seccomp_program(os.getpid(), ban)
        buf = ctypes.create_string_buffer(program, len(program))
        prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
        ptr = ctypes.c_void_p(ctypes.addressof(prog))
        try:
            # SECCOMP_SET_MODE_FILTER with TSYNC: every thread, should there be more than one.
            syscalls.syscall(syscalls.number("seccomp"), 1, 1, ptr)
        except OSError as exc:
            if exc.errno != errno.ENOSYS:
                raise
            syscalls.prctl(22, 2, ptr.value or 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    except (OSError, ValueError) as exc:
        rec.miss("seccomp", exc)
        return False
    rec.ok("seccomp")
    return ban

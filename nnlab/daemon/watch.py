"""The warm grader watches its nnlab's files (inotify): while none changed, a client need not digest them."""
from __future__ import annotations

import contextlib
import ctypes
import os
import struct
from dataclasses import dataclass, field
from typing import Iterator

from nnlab.worker.sandbox import syscalls

# From <sys/inotify.h>; the same on every Linux architecture.
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_Q_OVERFLOW, _IN_IGNORED, _IN_ISDIR = 0x4000, 0x8000, 0x40000000
_IN_DONT_FOLLOW = 0x02000000
_FILE_EVENTS = _IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_DELETE_SELF | _IN_MOVE_SELF
_FOLDER_EVENTS = (_FILE_EVENTS | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE)
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, length of the name that follows

# File systems whose every change, whoever makes it, passes through this kernel and so reaches
# inotify (statfs's f_type). Not NFS, FUSE, 9p (WSL's Windows drives), SMB or overlayfs: an edit
# made on another machine, in a VM's host or in a lower layer would never be seen.
_LOCAL_FILE_SYSTEMS = frozenset({
    0xEF53,      # ext2, ext3, ext4
    0x58465342,  # xfs
    0x9123683E,  # btrfs
    0x01021994,  # tmpfs
    0xF2F52010,  # f2fs
    0x2FC12FC1,  # zfs
})
_F_TYPE_ARCHES = ("x86_64", "aarch64", "ppc64le", "riscv64", "i686", "armv7l")
"""Where statfs's f_type is a C long at the start of the structure (not s390x's unsigned int)."""


def _file_system(path: str) -> int | None:
    if os.uname().machine not in _F_TYPE_ARCHES:
        return None
    buffer = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on 64-bit Linux
    c_library = syscalls.libc()
    if c_library is None or c_library.statfs(os.fsencode(path), buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


@dataclass
class CodeWatch:
    """Every folder and file of a code digest watched since before the digest was taken.

    `unchanged()` is True only while no event has come that could change the digest: any
    write, attribute change (a new mtime), creation, removal or rename of a digested file
    or a folder, or a lost event (queue overflow).
    """

    fd: int
    folders: dict[int, str] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def start(cls, folder: str, suffixes: tuple[str, ...]) -> CodeWatch | None:
        """Watches `folder` as the digest walks it; None where a change might go unseen."""
        libc = syscalls.libc()
        if libc is None:
            return None
        fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            return None
        watch = cls(fd)
        try:
            for path, is_folder in _walk(folder, suffixes):
                if is_folder and _file_system(path) not in _LOCAL_FILE_SYSTEMS:
                    raise OSError("not a local file system")
                mask = (_FOLDER_EVENTS if is_folder else _FILE_EVENTS) | _IN_DONT_FOLLOW
                wd = libc.inotify_add_watch(fd, os.fsencode(path), mask)
                if wd < 0:
                    raise OSError(ctypes.get_errno(), "inotify_add_watch")  # out of watches
                if is_folder:
                    watch.folders[wd] = path
        except OSError:
            os.close(fd)
            return None
        return watch

    def unchanged(self, suffixes: tuple[str, ...]) -> bool:
        """Reads the events come so far (never waits); False from the first relevant one on."""
        while not self.changed:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                break
            except OSError:
                self.changed = True
                break
            if not data:
                self.changed = True
                break
            self.changed = any(self._relevant(*event, suffixes) for event in _events(data))
        return not self.changed

    def _relevant(self, wd: int, mask: int, name: str, suffixes: tuple[str, ...]) -> bool:
        if mask & (_IN_Q_OVERFLOW | _IN_IGNORED) or wd not in self.folders or not name:
            return True  # lost events, a watch gone, or a digested file or folder itself
        if mask & _IN_ISDIR:
            return name != "__pycache__"  # the interpreter's own cache is not digested
        return name.endswith(suffixes)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _events(data: bytes) -> Iterator[tuple[int, int, str]]:
    offset = 0
    while offset + _EVENT.size <= len(data):
        wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
        raw = data[offset + _EVENT.size:offset + _EVENT.size + length]
        offset += _EVENT.size + length
        yield wd, mask, os.fsdecode(raw.rstrip(b"\0"))


def _walk(folder: str, suffixes: tuple[str, ...]) -> Iterator[tuple[str, bool]]:
    """The folders and files the code digest reads; OSError at a link (an edit to what it
    points at would reach no watch here)."""
    yield folder, True
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_symlink() and (entry.name.endswith(suffixes) or entry.is_dir()):
                raise OSError(f"{entry.path} is a link")
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    yield from _walk(entry.path, suffixes)
            elif entry.name.endswith(suffixes):
                yield entry.path, False

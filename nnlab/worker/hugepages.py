"""Backs a fork server's memory with huge pages, so that each fork copies a few page-table entries, not thousands."""
from __future__ import annotations

import ctypes

from nnlab.worker.sandbox import syscalls

_MADV_COLLAPSE = 25
"""madvise(2): collapse a range into transparent huge pages now (Linux 6.1 and later)."""
_HUGE = 2 << 20
_SMALLEST = 4 << 20
"""Regions under this size are left as they are: too few pages to matter."""


def _anonymous_regions() -> list[tuple[int, int]]:
    """(start, end) of this process's private, writable, anonymous mappings (the heap included)."""
    regions = []
    with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
        for line in maps:
            fields = line.split()
            name = fields[5] if len(fields) > 5 else ""
            if name not in ("", "[heap]") or not fields[1].startswith("rw") or "p" not in fields[1]:
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if end - start >= _SMALLEST:
                regions.append((start, end))
    return regions


def collapse_into_huge_pages() -> int:
    """Moves this process's large anonymous memory onto huge pages; the megabytes moved (0 where
    the kernel cannot: not Linux, before 6.1, or huge pages turned off).

    Why: a fork copies one page-table entry per 4 KiB page of the parent, and the child undoes
    them all when it ends. With torch loaded a fork server holds about 200 MiB of heap and
    Python objects: 50,000 entries, 8-13 ms of every fork and as much of every worker's end
    (measured here: fork() 8-13 -> 2 ms). Only the mapping changes: a child that writes to a
    page still copies 4 KiB of it, the memory in use grows by about 1 MiB, and what any
    process computes is the same.
    """
    libc = syscalls.libc()  # None off Linux
    if libc is None:
        return 0
    try:
        regions = _anonymous_regions()
    except OSError:
        return 0
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    moved = 0
    for start, end in regions:
        first = (start + _HUGE - 1) & ~(_HUGE - 1)
        last = end & ~(_HUGE - 1)
        if last <= first:
            continue
        # A refusal (EINVAL: an older kernel, or a region it will not collapse) costs nothing:
        # the region stays as it was, and the next one is tried.
        if libc.madvise(first, last - first, _MADV_COLLAPSE) == 0:
            moved += last - first
    return moved >> 20

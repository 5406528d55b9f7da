"""A fork server's memory on huge pages: the same results, fewer page-table entries to copy at each fork."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, torch
from nnlab.worker.hugepages import collapse_into_huge_pages

def work():
    g = torch.Generator().manual_seed(3)
    w = torch.randn(64, 64, generator=g, requires_grad=True)
    x = torch.randn(8, 64, generator=g)
    y = torch.tanh(x @ w).sum()
    y.backward()
    return [y.item(), w.grad.sum().item()]

before = work()
moved = collapse_into_huge_pages()
huge = int(open("/proc/self/smaps_rollup").read().split("AnonHugePages:")[1].split()[0])
print(json.dumps({"moved_mb": moved, "huge_kb": huge, "same": work() == before}))
"""


def _kernel_can_collapse() -> bool:
    """Linux 6.1 or later (MADV_COLLAPSE) with transparent huge pages not turned off."""
    found = re.match(r"(\d+)\.(\d+)", os.uname().release)
    switch = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return (sys.platform.startswith("linux") and found is not None
            and (int(found[1]), int(found[2])) >= (6, 1)
            and switch.exists() and "[never]" not in switch.read_text())


def test_collapsing_into_huge_pages_changes_no_result() -> None:
    """Does a process whose memory moved onto huge pages compute exactly what it did before, and
    does the kernel show the moved memory as huge pages (where it can move any: Linux 6.1+)?"""
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["same"] is True
    if _kernel_can_collapse():  # torch alone holds tens of MiB of heap: some of it moved
        assert outcome["moved_mb"] > 0 and outcome["huge_kb"] >= outcome["moved_mb"] * 1024 // 2
    else:
        assert outcome["moved_mb"] == 0

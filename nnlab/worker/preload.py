"""Imported by the fork server only: loads and warms the worker code before any fork."""
from __future__ import annotations

import gc
import os

from nnlab.worker import sandbox
from nnlab.worker.hugepages import collapse_into_huge_pages
from nnlab.worker.sandbox import landlock
from nnlab.worker import LAZY_IMPORTS_SETTING
from nnlab.worker.server import warm_up

# A raw read (nnlab.settings would cost each fork server 0.2 s of imports); the literal is
# nnlab.worker.LAZY_IMPORTS_SETTING, spelled out so the settings test sees this read.
assert LAZY_IMPORTS_SETTING == "NNLAB_FORKSERVER_LAZY_IMPORTS"
warm_up(lazy_imports=os.environ.get("NNLAB_FORKSERVER_LAZY_IMPORTS") != "0")
# Preloaded so that confinement needs no file access, its fixed Landlock rules worked out once.
landlock.prepare_rules(gpu=bool(sandbox.nvidia_devices()))
# Every object loaded so far (torch's, hundreds of thousands) moves out of the collector's
# sight: a worker's first full collection walked them all, writing to each object's header
# and so copying every page of them out of the fork server's memory (measured: confining a
# worker 17 -> 11 ms, the collection landing in its seccomp step 10 -> 1 ms). They live as
# long as the fork server anyway; what a worker allocates is collected as before.
gc.collect()
gc.freeze()
collapse_into_huge_pages()  # last: after everything the fork server will ever hold is loaded

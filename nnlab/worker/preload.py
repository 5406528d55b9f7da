"""Imported by the fork server only: loads and warms the worker code before any fork."""
from __future__ import annotations

import os

from nnlab.worker import sandbox  # noqa: F401 - preloaded so confinement needs no file access
from nnlab.worker.server import LAZY_IMPORTS_SETTING, warm_up

# A raw read (nnlab.settings would cost each fork server 0.2 s of imports); the literal is
# nnlab.worker.server.LAZY_IMPORTS_SETTING, spelled out so the settings test sees this read.
assert LAZY_IMPORTS_SETTING == "NNLAB_FORKSERVER_LAZY_IMPORTS"
warm_up(lazy_imports=os.environ.get("NNLAB_FORKSERVER_LAZY_IMPORTS") != "0")

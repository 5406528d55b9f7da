"""Imported by the fork server only: loads and warms the worker code before any fork."""
from __future__ import annotations

import os

from nnlab.worker import sandbox  # noqa: F401 - preloaded so confinement needs no file access
from nnlab.worker.server import LAZY_IMPORTS_SETTING, warm_up

warm_up(lazy_imports=os.environ.get(LAZY_IMPORTS_SETTING) != "0")

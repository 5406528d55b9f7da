"""What every grading command needs: a launcher, and stdout kept clean of grader noise."""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from nnlab.grader.launcher import WorkerLauncher


@contextlib.contextmanager
def grading_launcher() -> Iterator[WorkerLauncher]:
    """A launcher for one command; pytest's and torch's chatter goes to stderr meanwhile."""
    launcher = WorkerLauncher()
    with contextlib.redirect_stdout(sys.stderr):
        yield launcher

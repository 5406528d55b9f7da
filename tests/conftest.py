"""Shared fixtures: one worker launcher (and fork server) for the whole test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnlab.grader.launcher import WorkerLauncher

MUTANTS_DIR = Path(__file__).parent / "mutants"

# Every `nnlab` the tests start grades in its own process: no warm grader is used or left
# behind (tests/test_daemon.py turns it back on for its own commands).
os.environ.setdefault("NNLAB_NO_DAEMON", "1")


@pytest.fixture(scope="session")
def launcher() -> WorkerLauncher:
    return WorkerLauncher()

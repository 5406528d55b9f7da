"""Shared fixtures: one worker launcher (and fork server) for the whole test session."""
from __future__ import annotations

from pathlib import Path

import pytest

from nnlab.grader.launcher import WorkerLauncher

MUTANTS_DIR = Path(__file__).parent / "mutants"


@pytest.fixture(scope="session")
def launcher() -> WorkerLauncher:
    return WorkerLauncher()

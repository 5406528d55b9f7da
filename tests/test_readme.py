"""The README's promises: its test command is the one CI runs."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ci_command() -> str:
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    return next(line for line in ci_lines if "pytest" in line)


def test_ci_runs_the_readme_test_command() -> None:
    """Does .ci/run call exactly the test command the README gives?"""
    command = _ci_command()
    assert command in (ROOT / "README.md").read_text(), command


def test_ci_lints_and_type_checks_before_the_tests() -> None:
    """Does that command run ruff over the code, tests and benchmarks, then mypy, before pytest?"""
    steps = [step.strip() for step in _ci_command().split("&&")]
    assert steps[1:] == ["python -m ruff check nnlab tests benchmarks", "python -m mypy", "python -m pytest -q"], steps

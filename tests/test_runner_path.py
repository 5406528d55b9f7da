"""The check runner's fast path (pytest internals, checks collected once) is the one taken."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

from nnlab.grader import runner
from nnlab.grader.exercise import get_exercise

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the pyproject's own fallback
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _grade(launcher, which: str = "solution") -> runner.CheckRun:
    exercise = get_exercise("my_linear")
    path = exercise.solution_path if which == "solution" else exercise.stub_path
    return runner.run_checks(exercise, path.read_text(encoding="utf-8"), "my_linear.py", launcher,
                             seed=11, include_hidden=True)


def test_the_installed_pytest_takes_the_fast_path(launcher, monkeypatch) -> None:
    """With the pytest installed here, are an exercise's checks collected once and run again
    for each file (no fresh pytest session, no warning)?"""
    monkeypatch.setattr(runner, "_collected", {})

    def afresh(*args, **kwargs):
        raise AssertionError("pytest.main was called: the slow path was taken")

    monkeypatch.setattr(runner.pytest, "main", afresh)
    with warnings.catch_warnings():
        warnings.simplefilter("error", runner.SlowCheckPath)
        first, second = _grade(launcher), _grade(launcher, "stub")
    exercise = get_exercise("my_linear")
    assert isinstance(runner._collected[runner._collection_key(exercise, True)], runner._CollectedChecks)
    assert first.internal_errors == () and second.internal_errors == ()
    assert all(r.score == r.max_score for r in first.results) and sum(r.score for r in second.results) == 0


def test_a_pytest_without_the_internals_grades_the_same_and_says_so_once(launcher, monkeypatch) -> None:
    """When pytest's internals are not what the fast path expects, is the exercise graded the
    same through a fresh pytest session, with one warning that names the cause (not two)?"""
    monkeypatch.setattr(runner, "_collected", {})
    monkeypatch.setattr(runner, "_slow_path_said", [])

    def changed(*args, **kwargs):
        raise TypeError("_prepareconfig() got an unexpected keyword argument 'plugins'")

    # What a pytest whose private API moved does to the fast path (pytest.main still works).
    monkeypatch.setattr(runner._CollectedChecks, "__init__", changed)
    with pytest.warns(runner.SlowCheckPath) as said:
        warnings.simplefilter("always")
        slow = _grade(launcher)
        runner._collected.clear()
        _grade(launcher, "stub")
    assert len([w for w in said if issubclass(w.category, runner.SlowCheckPath)]) == 1
    message = str(said[0].message)
    assert "TypeError: _prepareconfig()" in message and pytest.__version__ in message
    assert [r.outcome.value for r in slow.results] == ["passed"] * len(slow.results)
    assert slow.internal_errors == ()


def test_the_dependency_is_bounded_to_the_tested_pytest() -> None:
    """Does pyproject.toml bound pytest above and below, and does the installed pytest (the one
    the fast path is tested with here) lie inside that range?"""
    from packaging.requirements import Requirement

    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    spec = next(Requirement(d) for d in deps if Requirement(d).name == "pytest").specifier
    assert any(s.operator == "<" for s in spec) and any(s.operator == ">=" for s in spec)
    assert spec.contains(pytest.__version__)

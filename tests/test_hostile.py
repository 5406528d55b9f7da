"""Hostile submissions: none scores above its honest control, leaves anything behind, or stops grading."""
from __future__ import annotations

import dataclasses
import os
import re
import time
from pathlib import Path

import pytest

from nnlab.grader.exercise import EXERCISES_DIR, load_exercise
from nnlab.grader.launcher import WorkerLauncher, wait_for_killed_workers
from nnlab.grader.pipeline import ExerciseGrading, grade_file
from nnlab.results import Outcome

# Each case waits out limits or grades a whole exercise: the full suite's, not the fast subset's.
pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
CANARIES = [Path("/tmp/nnlab-hostile-canary"), Path.home() / "nnlab-hostile-canary"]
_CONTROL = re.compile(r"^# nnlab-hostile: control=(\w+)$", re.MULTILINE)


def _exercise():
    # Short limits keep the endless-loop cases quick; the verdicts do not depend on them.
    return dataclasses.replace(load_exercise(EXERCISES_DIR / "my_linear"), check_seconds=1.5)


def _graded(path: Path, launcher: WorkerLauncher) -> ExerciseGrading:
    return grade_file(_exercise(), path.read_text(encoding="utf-8"), "my_linear.py",
                      launcher, seed=99, include_hidden=True)


def _grade(path: Path, launcher: WorkerLauncher):
    return _graded(path, launcher).result


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[1])


def _session(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return -1


def _possible_survivors() -> set[int]:
    """Processes a worker could have left: below this test process, or orphaned from a worker.

    The fork server (a direct child) and multiprocessing's resource tracker belong to the
    grader; other users of the machine are neither below us nor worker orphans.
    """
    me = os.getpid()
    pids = [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]
    parents = {pid: _ppid(pid) for pid in pids}
    found: set[int] = set()
    frontier = {me}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    grader_helpers = {pid for pid in found if parents[pid] == me and any(
        k in _cmdline(pid) for k in ("forkserver", "resource_tracker"))}
    # An escaped worker leads its own session (setsid); an orphaned fork server does not.
    orphans = {pid for pid, parent in parents.items() if parent == 1 and _session(pid) == pid
               and any(k in _cmdline(pid) for k in ("multiprocessing.forkserver", "sleep 1000"))}
    return (found - grader_helpers) | orphans


@pytest.fixture(scope="module")
def control_scores(launcher) -> dict[str, float]:
    scores = {"none": 0.0}
    for path in (HOSTILE / "controls").glob("*.py"):
        scores[path.stem] = _grade(path, launcher).score
    return scores


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to count processes")
@pytest.mark.parametrize("path", sorted(HOSTILE.glob("*.py")), ids=lambda p: p.stem)
def test_hostile_submission_gains_nothing_and_leaves_nothing(path: Path, launcher, control_scores) -> None:
    """Does the trick score no more than its honest control, with no process or file left?"""
    control = _CONTROL.search(path.read_text()).group(1)
    before = _possible_survivors()
    graded = _graded(path, launcher)
    result = graded.result
    assert result.score <= control_scores[control], (
        f"{path.stem} scored {result.score} > control {control} "
        f"({control_scores[control]}):\n" + "\n".join(f"{c.test_id}: {c.outcome.value} {c.message[:150]}"
                                                      for c in result.checks))
    assert graded.internal_errors == (), [c.message for c in result.checks]
    for check in result.checks:
        assert len(check.message) < 10_000
    for canary in CANARIES:
        assert not canary.exists(), f"{path.stem} wrote {canary}"
    wait_for_killed_workers()  # killed at each check's end, reaped in the background
    survivors = _possible_survivors() - before
    assert not survivors, f"{path.stem} left processes behind: {[_cmdline(p) for p in survivors]}"
    scratch = list(launcher.scratch_root.iterdir())
    assert not scratch, f"scratch folders left behind: {scratch}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_faults_are_reported_on_their_own_check(launcher) -> None:
    """Does a crash in forward cost only the checks that call forward, with a clear message?"""
    result = _grade(HOSTILE / "exit_in_forward.py", launcher)
    outcomes = {c.test_id: c for c in result.checks}
    assert outcomes["test_parameters"].outcome is Outcome.PASSED
    assert outcomes["test_initialization"].outcome is Outcome.PASSED
    crashed = outcomes["test_forward_parity"]
    assert crashed.outcome is Outcome.ERROR
    assert "exited with status 0" in crashed.message


def test_endless_loop_is_a_timeout(launcher) -> None:
    """Does an endless loop give `timeout` with the limit and the looping line named, on every
    check it reaches?"""
    result = _grade(HOSTILE / "endless_loop_in_init.py", launcher)
    timed = {spec.test_id for spec in result_checks_specs() if spec.is_timing}
    # A timing check never times code that failed correctness: it fails, it does not hang.
    assert {c.outcome for c in result.checks if c.test_id not in timed} == {Outcome.TIMEOUT}
    assert "1.5 s limit" in result.checks[0].message
    assert "your code was at `__init__` (line 11)" in result.checks[0].message


def test_endless_loop_at_import_costs_the_limit_once(launcher) -> None:
    """Does a file that never finishes loading time out on every check, but wait out the
    limit only once (not once per check)?"""
    started = time.monotonic()
    result = _grade(HOSTILE / "endless_loop_at_import.py", launcher)
    elapsed = time.monotonic() - started
    assert {c.outcome for c in result.checks} == {Outcome.TIMEOUT}
    assert "while loading your file" in result.checks[0].message
    assert all("not loaded again" in c.message for c in result.checks[1:])
    # One 1.5 s limit, plus start-up; every check waiting it out would take over 15 s.
    assert len(result.checks) >= 10 and elapsed < 1.5 * len(result.checks) / 2, elapsed


def result_checks_specs():
    return _exercise().checks


def test_segfault_is_named(launcher) -> None:
    """Is a segmentation fault reported as such, not as a grader failure?"""
    result = _grade(HOSTILE / "segfault_without_ctypes.py", launcher)
    forward = next(c for c in result.checks if c.test_id == "test_forward_parity")
    assert forward.outcome is Outcome.ERROR
    assert "SIGSEGV" in forward.message


def test_loop_that_hides_its_stack_still_meets_the_short_limit(launcher) -> None:
    """When a looping file blocks the stack dump (and plants a FIFO in its place), is each
    check after the first still limited, with no location claimed?"""
    result = _grade(HOSTILE / "loop_hides_its_stack.py", launcher)
    timed_out = [c for c in result.checks if c.outcome is Outcome.TIMEOUT]
    assert timed_out[0] is result.checks[0] and "your code was at" not in timed_out[0].message
    assert len(timed_out) >= 5
    assert all("not waited for longer" in c.message for c in timed_out[1:])

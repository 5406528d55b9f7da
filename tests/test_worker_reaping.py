"""Killed workers are reaped off the grader's thread, and none outlives its exercise's result."""
from __future__ import annotations

import signal
import threading

from nnlab.grader.exercise import get_exercise
from nnlab.grader.launcher import settle
from nnlab.grader.pipeline import grade_file
from nnlab.grader.session import WorkerSession


def test_close_kills_at_once_and_leaves_the_waiting_to_another_thread(launcher, monkeypatch) -> None:
    """Is a closed session's worker dead when close() returns, waited for on another thread,
    and gone with its scratch folder once settled?"""
    session = WorkerSession(launcher, "x = 1\n", "sample.py", [], [], 20.0)
    worker = session.process
    assert worker is not None
    joined_on: list[str] = []
    join = worker.process.join

    def recorded_join(timeout: float | None = None) -> None:
        joined_on.append(threading.current_thread().name)
        join(timeout)

    monkeypatch.setattr(worker.process, "join", recorded_join)
    session.close()
    settle()
    assert joined_on and threading.current_thread().name not in joined_on
    assert worker.process.exitcode == -signal.SIGKILL
    assert list(launcher.scratch_root.iterdir()) == []


def test_an_exercise_returns_with_every_worker_reaped(launcher) -> None:
    """When a file's grading returns, are all its checks' workers reaped and their scratch gone?"""
    exercise = get_exercise("my_linear")
    graded = grade_file(exercise, exercise.solution_path.read_text(), "my_linear.py", launcher,
                        seed=3, include_hidden=False)
    assert graded.result.score == graded.result.max_score
    assert list(launcher.scratch_root.iterdir()) == []

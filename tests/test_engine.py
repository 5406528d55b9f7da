"""The Dask grading engine: same verdicts everywhere, lost workers, looping students."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from procs import running, stop_all

from nnlab.engine import GradingEngine, StudentJob
from nnlab.grader.exercise import SOLUTIONS_DIR
from nnlab.grader.launcher import WorkerLauncher
from nnlab.grader.pipeline import GradeRequest, grade_student
from nnlab.results import Outcome, SubmissionResult

EXERCISES = ("leaky_relu",)
SEED = 1234
BUGGY = "import torch\nfrom torch import nn\n\nclass LeakyReLU(nn.Module):\n" \
        "    def __init__(self, negative_slope=0.01):\n        super().__init__()\n" \
        "        self.negative_slope = negative_slope\n\n    def forward(self, x):\n" \
        "        return torch.where(x > 0, x, x * 0.1)\n"
LOOPING = BUGGY.replace("return torch.where(x > 0, x, x * 0.1)", "while True:\n            pass")


def _class(root: Path) -> list[StudentJob]:
    """A correct, a buggy and a missing submission."""
    (root / "good").mkdir(parents=True)
    shutil.copy(SOLUTIONS_DIR / "leaky_relu.py", root / "good" / "leaky_relu.py")
    (root / "buggy").mkdir()
    (root / "buggy" / "leaky_relu.py").write_text(BUGGY)
    (root / "absent").mkdir()
    return [StudentJob(root / s, s, EXERCISES, SEED) for s in ("good", "buggy", "absent")]


def _verdicts(result: SubmissionResult) -> list[tuple[str, str, float]]:
    return [(c.test_id, c.outcome.value, c.score) for e in result.exercises for c in e.checks]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _descendants(pid: int) -> list[int]:
    found, stack = [], _children(pid)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(_children(child))
    return found


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _student_workers(dask_worker: int, dask_workers: list[int]) -> list[int]:
    """The student workers of a Dask worker: its own fork server's children, or, where the
    machine's fork server forked it (the embedded cluster), that fork server's other children
    (everything below them included)."""
    own = [w for child in _children(dask_worker) for w in _children(child)]
    parent = _parent(dask_worker)
    if "forkserver import main" in Path(f"/proc/{parent}/cmdline").read_bytes().decode(errors="replace"):
        own += [c for c in _children(parent) if c not in dask_workers]
    return own + [d for w in own for d in _descendants(w)]


def _one_by_one(jobs: list[StudentJob], launcher: WorkerLauncher) -> dict[str, list]:
    return {job.student: _verdicts(grade_student(GradeRequest(
        job.folder, student=job.student, seed=SEED, exercise_ids=EXERCISES), launcher))
        for job in jobs}


def _on_engine(engine: GradingEngine, jobs: list[StudentJob]) -> dict[str, list]:
    graded: dict[str, list] = {}
    engine.grade_many(jobs, lambda g: graded.setdefault(g.job.student, _verdicts(g.result)))
    return graded


@pytest.mark.slow
def test_embedded_and_external_clusters_match_one_by_one(tmp_path: Path, launcher) -> None:
    """Do the embedded cluster and an external `dask scheduler` with two `dask worker`s give
    every check the same verdict as grading each student alone, for the same seed?"""
    jobs = _class(tmp_path / "class")
    expected = _one_by_one(jobs, launcher)
    assert expected["good"] != expected["buggy"]  # the class tells students apart
    with GradingEngine(workers=2) as engine:
        assert _on_engine(engine, jobs) == expected
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--dashboard-address", ":0"], **quiet)]
    try:
        for _ in range(2):
            started.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1",
                                             "--no-dashboard"], **quiet))
        with GradingEngine(scheduler=address) as engine:
            engine.client.wait_for_workers(2, timeout=120)
            assert _on_engine(engine, jobs) == expected
    finally:
        stop_all(started)


def _pid() -> int:
    # A Python function, not the os.getpid builtin: Dask inspects a builtin's signature with
    # ast.parse on its event loop, racing the task thread's own parsing (Python 3.11).
    return os.getpid()


def _worker_pids(engine: GradingEngine) -> list[int]:
    try:
        return list(engine.client.run(_pid, on_error="ignore").values())
    except OSError:  # a worker just killed, not yet noticed by the scheduler
        return []


@pytest.mark.slow
def test_a_student_whose_worker_dies_twice_is_recorded_not_dropped(tmp_path: Path) -> None:
    """Is a student whose Dask worker is killed mid-grading retried once, then recorded with
    an infrastructure error and zero, leaving no fork server or student worker behind (the
    first time forked by the machine's fork server, the second time spawned by Dask)?"""
    job = _class(tmp_path / "class")[0]
    kills, doomed, graded = 0, [], []
    with GradingEngine(workers=1) as engine, ThreadPoolExecutor(1) as pool:
        engine.client.wait_for_workers(1)
        pending = pool.submit(engine.grade_many, [job], graded.append)
        deadline = time.monotonic() + 300
        while kills < 2 and time.monotonic() < deadline and not pending.done():
            # Mid-student: a fork server has started a worker for one of the checks.
            dask_workers = _worker_pids(engine)
            busy = [p for p in dask_workers if _student_workers(p, dask_workers)]
            if busy:
                doomed += _descendants(busy[0]) + _student_workers(busy[0], dask_workers)
                os.kill(busy[0], signal.SIGKILL)
                kills += 1
                while busy[0] in _worker_pids(engine):
                    time.sleep(0.2)
            time.sleep(0.05)
        pending.result(timeout=300)
    assert kills == 2 and len(graded) == 1
    assert "died twice" in graded[0].infrastructure_error
    result = graded[0].result
    checks = [c for e in result.exercises for c in e.checks]
    assert result.score == 0 and result.max_score == 10
    assert all(c.outcome is Outcome.ERROR and "infrastructure error" in c.message for c in checks)
    time.sleep(2)  # the reaper's moment
    assert doomed and [p for p in doomed if running(p)] == []


@pytest.mark.slow
def test_looping_student_costs_about_one_check_limit(tmp_path: Path) -> None:
    """Is a student whose forward never returns graded in about one check limit (not one per
    check), the reason given on each check that timed out, while a classmate is graded in full?"""
    jobs = _class(tmp_path / "class")[:1]
    (tmp_path / "class" / "looper").mkdir()
    (tmp_path / "class" / "looper" / "leaky_relu.py").write_text(LOOPING)
    jobs.append(StudentJob(tmp_path / "class" / "looper", "looper", EXERCISES, SEED))
    with GradingEngine(workers=2) as engine:
        engine.client.wait_for_workers(2)
        results: dict[str, SubmissionResult] = {}
        engine.grade_many(jobs, lambda g: results.setdefault(g.job.student, g.result))
    assert results["good"].score == results["good"].max_score
    checks = results["looper"].exercises[0].checks
    timed_out = [c for c in checks if c.outcome is Outcome.TIMEOUT]
    assert timed_out[0] is checks[0] and "30 s limit" in checks[0].message
    assert len(timed_out) >= 5
    assert "your code was at `forward`" in checks[0].message
    assert all("ran out of time in an earlier check" in c.message for c in timed_out[1:])
    # Before: every check that reached forward waited out the whole limit (about 240 s).
    assert sum(c.duration_s for c in checks) < 2 * 30

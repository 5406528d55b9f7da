"""GPU work on GPU workers: an exercise timed on a GPU goes to `dask worker --resources GPU=1`."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from nnlab.course.repository import COURSE_ENV
from nnlab.engine import Graded, GradingEngine, StudentJob
from nnlab.engine.routing import ANY_WORKER, NO_GPU_WORKER, ON_GPU_WORKER, placement
from nnlab.errors import ExerciseFormatError
from nnlab.grader.exercise import EXERCISES_DIR, SOLUTIONS_DIR, load_exercise
from nnlab.grader.timing.api import NO_GPU_NOTE
from nnlab.results import Outcome, SubmissionResult
from procs import stop_all

SEED = 1234
GPU_EXERCISE = "my_linear_gpu"
CPU_EXERCISE = "leaky_relu"


def _course(root: Path) -> Path:
    """A course whose own exercise is my_linear with `[timing] device = "cuda"`."""
    folder = root / "exercises" / GPU_EXERCISE
    shutil.copytree(EXERCISES_DIR / "my_linear", folder)
    shutil.copy(SOLUTIONS_DIR / "my_linear.py", folder / "solution.py")
    toml = folder / "exercise.toml"
    # A CUDA limit unlike the CPU one, so that a report shows which of the two was used.
    text = toml.read_text().replace("cuda = 4\n", "cuda = 3\n")
    toml.write_text(text.replace("[timing]\n", '[timing]\ndevice = "cuda"\n'))
    (root / "course.toml").write_text(
        f'[course]\nexercises = ["exercises"]\nlibrary = ["{CPU_EXERCISE}"]\n')
    return root / "course.toml"


def _job(root: Path, student: str, exercise: str, hidden: bool = True) -> StudentJob:
    (root / student).mkdir(parents=True)
    solution = SOLUTIONS_DIR / ("my_linear.py" if exercise == GPU_EXERCISE else f"{exercise}.py")
    shutil.copy(solution, root / student / f"{exercise}.py")
    return StudentJob(root / student, student, (exercise,), SEED, include_hidden=hidden)


def _timing_devices(result: SubmissionResult) -> list[str]:
    return [c.timing.device for e in result.exercises for c in e.checks if c.timing is not None]


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    course_file = _course(tmp_path / "course")
    # In force here (routing reads the exercises) and in every worker started from now on.
    monkeypatch.setenv(COURSE_ENV, str(course_file))
    return course_file


def test_an_exercise_declares_its_timing_on_the_gpu(tmp_path: Path) -> None:
    """Does `[timing] device = "cuda"` mark exactly the timing checks as needing CUDA?"""
    course_file = _course(tmp_path / "course")
    folder = course_file.parent / "exercises" / GPU_EXERCISE
    assert load_exercise(folder).gpu_checks == ("test_speed",)
    assert load_exercise(EXERCISES_DIR / "my_linear").gpu_checks == ()
    toml = folder / "exercise.toml"
    toml.write_text(toml.read_text().replace('device = "cuda"', 'device = "tpu"'))
    with pytest.raises(ExerciseFormatError, match="timing.device"):
        load_exercise(folder)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_gpu_jobs_run_on_the_gpu_worker_and_the_rest_anywhere(tmp_path: Path, course: Path) -> None:
    """With a `dask worker --resources GPU=1` beside a plain one, does every student of a
    GPU-timed exercise run on the GPU worker, and every other student still get graded?"""
    root = tmp_path / "class"
    jobs: list[StudentJob] = []
    for index in range(3):  # interleaved, so that the plain worker is free for GPU jobs too
        jobs.append(_job(root, f"gpu{index}", GPU_EXERCISE))
        jobs.append(_job(root, f"cpu{index}", CPU_EXERCISE, hidden=False))
    # A GPU exercise graded without its hidden (and timing) checks needs no GPU.
    jobs.append(_job(root, "public", GPU_EXERCISE, hidden=False))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    started = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                 "--dashboard-address", ":0"], **quiet)]
    try:
        for name, extra in (("gpu-worker", ["--resources", "GPU=1"]), ("cpu-worker", [])):
            started.append(subprocess.Popen([*dask, "worker", address, "--nthreads", "1",
                                             "--no-dashboard", "--name", name, *extra], **quiet))
        with GradingEngine(scheduler=address) as engine:
            engine.client.wait_for_workers(2, timeout=120)
            names = {a: w["name"] for a, w in engine.client.scheduler_info()["workers"].items()}
            graded: dict[str, Graded] = {}
            engine.grade_many(jobs, lambda g: graded.setdefault(g.job.student, g))
    finally:
        stop_all(started)
    assert sorted(graded) == sorted(j.student for j in jobs)
    for student, done in graded.items():
        assert not done.infrastructure_error, (student, done.infrastructure_error)
        if student.startswith("gpu"):
            assert (done.routing, names.get(done.worker)) == (ON_GPU_WORKER, "gpu-worker"), student
            devices = _timing_devices(done.result)
            assert devices, student  # its timing check did run there
            if torch.cuda.is_available():  # benchmarks/gpu_check.sh: timed on the card, capped
                assert all(d.startswith("cuda") for d in devices), devices
        else:
            assert done.routing == ANY_WORKER and names.get(done.worker) in names.values(), student


@pytest.mark.slow
def test_without_a_gpu_worker_the_timing_uses_the_cpu_limit_and_says_so(
        tmp_path: Path, course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no GPU worker in the cluster, is a GPU-timed student graded anyway (no waiting for a
    worker that never comes), timed against the CPU limit, with the report saying so?"""
    job = _job(tmp_path / "class", "ada", GPU_EXERCISE)
    # On a machine with a GPU too: the embedded workers (not GPU workers) see no CUDA.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    engine, pool = GradingEngine(workers=1), ThreadPoolExecutor(1)
    try:
        # Routed to a GPU worker, the job would wait for ever: see that it is not, first.
        assert placement(job, engine.client)[0] == NO_GPU_WORKER
        graded: list[Graded] = []
        engine.grade_many([job], graded.append)
        # `grade_student`, the course server queue's path, must not wait for a GPU worker either.
        result = pool.submit(engine.grade_student, job).result(timeout=300)
    finally:
        engine.close()
        pool.shutdown(wait=False, cancel_futures=True)
    assert [g.routing for g in graded] == [NO_GPU_WORKER]
    for outcome in (graded[0].result, result):
        devices = _timing_devices(outcome)
        assert devices and all(d.startswith("cpu") and NO_GPU_NOTE in d for d in devices), devices
        timing = [c for e in outcome.exercises for c in e.checks if c.test_id == "test_speed"]
        assert timing[0].outcome is not Outcome.ERROR, timing[0].message
        assert timing[0].timing.threshold == 4.0  # my_linear's timing.cpu

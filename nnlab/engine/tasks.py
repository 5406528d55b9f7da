"""What runs inside a Dask worker: one warm fork server for its life, and one student per task."""
from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from nnlab.engine.cluster import THREAD_COUNT_VARIABLES
from nnlab.engine.warmth import needs_lazy_imports

if TYPE_CHECKING:
    from nnlab.engine import StudentJob
    from nnlab.grader.launcher import WorkerLauncher, WorkerProcess
    from nnlab.results import SubmissionResult

PLUGIN_NAME = "nnlab-warm-launcher"
def _fork_server_warms(exercise_ids: tuple[str, ...]) -> None:
    """Tells the fork server this process is about to start whether to warm the lazy imports."""
    from nnlab.worker import LAZY_IMPORTS_SETTING

    os.environ[LAZY_IMPORTS_SETTING] = "1" if needs_lazy_imports(exercise_ids) else "0"


def _one_thread_environment() -> None:
    """The math libraries' thread counts set to 1 for what this process starts from now on
    (without importing torch: the plugin's setup runs on Dask's event-loop thread)."""
    for name in THREAD_COUNT_VARIABLES:
        os.environ[name] = "1"


def use_one_thread_in_this_process() -> None:
    """One torch thread per grading process: N Dask workers x all cores each would
    oversubscribe the machine and make every check, and every timing, slow and noisy."""
    _one_thread_environment()
    import torch

    torch.set_num_threads(1)


def _reaped_launcher() -> WorkerLauncher:
    """A WorkerLauncher that also reports each worker it starts to a reaper process."""
    from nnlab.engine.reaper import Reaper
    from nnlab.grader.launcher import WorkerLauncher

    class ReapedLauncher(WorkerLauncher):
        """Hands out workers like its parent; a killed Dask worker leaves none of them behind."""

        def __init__(self) -> None:
            super().__init__()
            self.reaper = Reaper(str(self.scratch_root))

        def _launch(self) -> WorkerProcess:
            worker = super()._launch()
            self.reaper.watch(worker.pid)
            return worker

    return ReapedLauncher()


class WarmLauncherPlugin(WorkerPlugin):
    """Gives each Dask worker one launcher, and so a fork server with torch loaded, for life:
    the machine's where the worker was forked from it, else one of its own."""

    idempotent = True
    name = PLUGIN_NAME

    def __init__(self) -> None:
        self._launcher: Any = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {}  # sent to every worker as a blank: each builds its own launcher

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._launcher = None
        self._lock = threading.Lock()

    def setup(self, worker: Any) -> None:
        # Dask starts its worker processes as daemons, and multiprocessing refuses to let
        # a daemon start children; ours are killed by the launcher and the reaper instead.
        multiprocessing.current_process().daemon = False
        _one_thread_environment()
        # A run stopped with Ctrl-C cancels the student in flight: not worth a warning.
        logging.getLogger("distributed.worker.state_machine").setLevel(logging.ERROR)

    def launcher(self, exercise_ids: tuple[str, ...] = ()) -> WorkerLauncher:
        """The worker's launcher, made by the first task that needs it (`exercise_ids`: that
        task's, which decide whether its fork server warms the lazy imports; none: it does).

        Not in `setup`: that runs on Dask's event-loop thread, where importing torch (seconds)
        would stall the worker's heartbeats; the first task pays it while the fork server boots.
        """
        from nnlab.grader.launcher import fork_server_inherited, use_inherited_fork_server

        with self._lock:
            if self._launcher is None:
                use_one_thread_in_this_process()
                if fork_server_inherited():
                    # Forked by the machine's fork server (the embedded cluster): it forks
                    # this worker's students too, warmed for the engine's exercises.
                    use_inherited_fork_server()
                else:
                    # Its own fork server: a fresh interpreter (fork and exec) holding none of
                    # this process's threads (only a single-threaded process may create user
                    # namespaces).
                    _fork_server_warms(exercise_ids)
                self._launcher = _reaped_launcher()
            return self._launcher

    def teardown(self, worker: Any) -> None:
        with self._lock:
            launcher, self._launcher = self._launcher, None
        if launcher is not None:
            # The reaper kills every worker still running; a fork server of this process's own
            # ends with it (the machine's, with the process that started the cluster).
            launcher.reaper.close()
            shutil.rmtree(launcher.scratch_root, ignore_errors=True)


_fallback_lock = threading.Lock()
_fallback: Any = None


def _launcher(exercise_ids: tuple[str, ...] = ()) -> WorkerLauncher:
    """This Dask worker's warm launcher; outside a Dask worker, one for this process."""
    global _fallback
    try:
        from distributed import get_worker

        plugin = get_worker().plugins.get(PLUGIN_NAME)
        if isinstance(plugin, WarmLauncherPlugin):
            return plugin.launcher(exercise_ids)
    except ValueError:  # not in a Dask worker
        pass
    with _fallback_lock:
        if _fallback is None:
            from nnlab.grader.launcher import WorkerLauncher

            use_one_thread_in_this_process()
            _fork_server_warms(exercise_ids)
            _fallback = WorkerLauncher()
        return _fallback


def grade_student_on_dask_worker(job: StudentJob) -> SubmissionResult:
    """One student, every exercise of the set, on whichever Dask worker runs it.

    The files travel with the job, so a worker on another machine needs no shared folder.
    """
    from nnlab.engine.files import write_student_files
    from nnlab.errors import NnlabError
    from nnlab.grader.pipeline import GradeRequest, grade_student
    from nnlab.grader.runner import stopping_at_first_loss

    launcher = _launcher(job.exercise_ids)
    # Under the launcher's scratch folder, which goes with the Dask worker even when killed.
    scratch = Path(tempfile.mkdtemp(prefix="student-", dir=launcher.scratch_root))
    try:
        folder = scratch / "submission"
        assert job.files is not None, "the engine reads the files before it submits the job"
        write_student_files(job.files, folder)
        request = GradeRequest(folder, student=job.student, seed=job.seed,
                               include_hidden=job.include_hidden, exercise_ids=job.exercise_ids)
        try:
            with stopping_at_first_loss(job.stop_at_first_loss):
                return grade_student(request, launcher)
        except NnlabError as exc:  # the same on every retry: the student's record says why
            return error_result(job, str(exc))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def error_result(job: StudentJob, why: str) -> SubmissionResult:
    """A student whose grading failed outright: zero on every exercise, with the reason."""
    from nnlab import __version__
    from nnlab.grader.exercise import get_exercise
    from nnlab.grader.pipeline import unrunnable
    from nnlab.results import Confinement, Outcome, SubmissionResult

    exercises = [unrunnable(get_exercise(ex_id), job.include_hidden, Outcome.ERROR, why)
                 for ex_id in job.exercise_ids]
    return SubmissionResult(job.student, tuple(exercises), job.seed, Confinement("none", ()), "",
                            __version__, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

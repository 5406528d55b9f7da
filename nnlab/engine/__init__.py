"""The grading engine: one student per Dask task, on an embedded local cluster or an existing one."""
from __future__ import annotations

import dataclasses
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Iterable

from nnlab.engine.files import StudentFile, read_student_files
from nnlab.errors import NnlabError

if TYPE_CHECKING:
    from nnlab.results import SubmissionResult

__all__ = ["Graded", "GradingEngine", "InfrastructureError", "StudentJob"]


GPU_RECHECK_S = 10.0
"""How often `grade` checks that a GPU job still has a GPU worker to wait for."""


class InfrastructureError(NnlabError):
    """No worker could grade the student (e.g. its Dask worker died twice): not the code's fault."""


@dataclass(frozen=True)
class StudentJob:
    """One unit of work: every exercise of one student."""

    folder: Path
    """The student's folder of ID.py / ID.ipynb files."""
    student: str
    """The student's id, shown in reports."""
    exercise_ids: tuple[str, ...]
    """The exercise set; a missing file scores zero against the same maximum."""
    seed: int
    """The run's secret seed (the same for the whole class)."""
    include_hidden: bool = True
    """Run the hidden and timing checks too (a submission), not only the public ones."""
    files: tuple[StudentFile, ...] | None = None
    """The files as read from `folder` (see read_student_files); None: read when submitted."""
    stop_at_first_loss: bool = False
    """Stop each exercise's checks at its first lost point (`verify --mutate`: a mutant that
    loses one is killed, the rest of its checks would change nothing); never for a student."""


@dataclass(frozen=True)
class Graded:
    """A finished student: their result, and whether the machinery rather than the code failed."""

    job: StudentJob
    """The job as it was given to the engine."""
    result: SubmissionResult
    """The student's result; zero on every exercise after an infrastructure error."""
    infrastructure_error: str = ""
    """Why no worker could grade this student (e.g. its Dask worker died twice); '' if graded."""
    routing: str = ""
    """How it was routed (nnlab.engine.routing): 'gpu', 'any', or 'no-gpu-worker' (a check
    needs CUDA and the cluster had no GPU worker: its timing used the CPU limit)."""
    worker: str = ""
    """The address of the Dask worker that graded it; '' if unknown."""


class GradingEngine:
    """Grades StudentJobs on Dask workers; `grade` is blocking and safe to call from several threads.

    Without `scheduler` (and $DASK_SCHEDULER_ADDRESS) it starts an embedded local cluster of
    `workers` single-threaded processes on first use; with one, it uses that cluster.
    """

    def __init__(self, workers: int | None = None, scheduler: str | None = None,
                 exercise_ids: tuple[str, ...] = ()) -> None:
        from nnlab.engine.cluster import default_workers, scheduler_address

        self.workers = workers or default_workers()
        """Local worker processes (an existing cluster brings its own)."""
        self.exercise_ids = exercise_ids
        """The exercises it will grade, where known: an embedded cluster's fork server is warmed
        for them (nnlab.engine.warmth.needs_lazy_imports); none (a course server): for any."""
        self.address = scheduler_address(scheduler)
        """The existing cluster's scheduler, or None for an embedded one."""
        self._lock = threading.Lock()
        self._cluster: Any = None
        self._client: Any = None
        self._submitted = 0

    @property
    def client(self) -> Any:
        """The Dask client, starting or connecting to the cluster on first use."""
        from nnlab.engine import cluster
        from nnlab.engine.warmth import needs_lazy_imports  # not tasks: that imports Dask

        with self._lock:
            if self._client is None:
                if self.address is None:
                    self._cluster, self._client = cluster.start_local(
                        self.workers, lazy_imports=needs_lazy_imports(self.exercise_ids))
                else:
                    self._client = cluster.connect(self.address)
                try:
                    cluster.register_launcher(self._client)
                except BaseException:
                    self._shutdown()
                    raise
            return self._client

    @property
    def started(self) -> bool:
        """Whether a cluster was started or connected to (a fully cached run starts none)."""
        return self._client is not None

    def _submit(self, job: StudentJob) -> tuple[Any, str]:
        """(future, routing): a job with checks that need CUDA goes to a GPU worker if any."""
        from nnlab.engine.routing import placement
        from nnlab.engine.tasks import grade_student_on_dask_worker

        routing, resources = placement(job, self.client)
        if job.files is None:
            job = dataclasses.replace(job, files=read_student_files(job.folder, job.exercise_ids))
        with self._lock:
            self._submitted += 1
            order = self._submitted
        # retries: a task that raised (not a student fault: those are results) runs once more.
        # A worker that dies mid-task is retried by the scheduler (allowed-failures).
        # priority: students start in the order given (Dask runs the highest first).
        future = self.client.submit(grade_student_on_dask_worker, job, pure=False, retries=1,
                                    priority=-order, resources=resources,
                                    key=f"nnlab-grade-{job.student}-{uuid.uuid4().hex[:12]}")
        return future, routing

    def _worker_of(self, future: Any) -> str:
        """The worker holding the finished task's result: the one that ran it."""
        try:
            held = self.client.who_has(future).get(future.key, ())
        except Exception:  # noqa: BLE001 - the address is a record, not worth failing a student
            return ""
        return str(held[0]) if held else ""

    def _settle(self, future: Any, job: StudentJob, routing: str = "") -> Graded:
        from distributed import KilledWorker

        from nnlab.engine.tasks import error_result

        try:
            result = future.result()
            return Graded(job, result, routing=routing, worker=self._worker_of(future))
        except KilledWorker:
            why = ("infrastructure error: the Dask worker grading this student died twice "
                   "(killed, or out of memory); grade again to retry")
        except Exception as exc:  # noqa: BLE001 - one student's failure must not stop the class
            why = f"infrastructure error: grading failed ({type(exc).__name__}: {str(exc)[:300]})"
        return Graded(job, error_result(job, why), why, routing)

    def _wait_routed(self, job: StudentJob) -> tuple[Any, str]:
        """Submits the job and waits; a GPU job whose GPU workers all left meanwhile is sent
        again to any worker instead of waiting for one that may never come back."""
        from distributed import wait

        from nnlab.engine.routing import ON_GPU_WORKER, gpu_workers

        future, routing = self._submit(job)
        while routing == ON_GPU_WORKER:
            try:
                wait([future], timeout=GPU_RECHECK_S)
                break
            except TimeoutError:
                pass
            if not future.done() and not gpu_workers(self.client):
                self.client.cancel([future], force=True)
                future, routing = self._submit(job)  # 'no-gpu-worker', unless one came back
        return future, routing

    def grade_student(self, job: StudentJob) -> SubmissionResult:
        """Grades one student and waits for the result.

        A student's faults are in the result; InfrastructureError when no worker could grade
        them, so that a caller (the course server) can keep the submission for another try.
        """
        future, routing = self._wait_routed(job)
        graded = self._settle(future, job, routing)
        if graded.infrastructure_error:
            raise InfrastructureError(graded.infrastructure_error)
        return graded.result

    def grade_many(self, jobs: Iterable[StudentJob], on_result: Callable[[Graded], None],
                   in_flight: int | None = None) -> None:
        """Grades every job, calling `on_result` in this thread as each one finishes.

        At most `in_flight` students are queued on the cluster at once (default: four per
        worker thread), so a class of thousands does not sit in the scheduler's memory.
        An interruption (Ctrl-C) cancels what is not finished and propagates.
        """
        client = self.client  # first: an embedded cluster's fork server boots while Dask is imported
        from distributed import as_completed

        if in_flight is None:
            workers = client.scheduler_info(n_workers=-1)["workers"].values()
            threads = sum(w.get("nthreads", 1) for w in workers)
            in_flight = max(8, 4 * max(threads, 1))
        pending = iter(jobs)
        running: dict[Any, tuple[StudentJob, str]] = {}
        for job in pending:
            future, routing = self._submit(job)
            running[future] = (job, routing)
            if len(running) >= in_flight:
                break
        done = as_completed(list(running))
        try:
            for future in done:
                job, routing = running.pop(future)
                on_result(self._settle(future, job, routing))
                following = next(pending, None)
                if following is not None:
                    submitted, routing = self._submit(following)
                    running[submitted] = (following, routing)
                    done.add(submitted)
        finally:
            # An existing cluster is shared: free it of this run's work. An embedded one is
            # about to close with its workers, which needs no cancelling (and no log about it).
            if running and self.address is not None:
                client.cancel(list(running), force=True)

    def _shutdown(self) -> None:
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def close(self) -> None:
        """Closes the client, and the embedded cluster with its workers and fork servers."""
        with self._lock:
            self._shutdown()

    def __enter__(self) -> GradingEngine:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

"""The persistent grading queue: threads that take queued uploads from SQLite and grade them."""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from pathlib import Path
from typing import IO, Any

from nnlab.course.config import Course
from nnlab.course.db import Database
from nnlab.errors import UsageError

log = logging.getLogger("nnlab.course")
SUBMISSIONS_DIR = "submissions"


def submission_folder(data_dir: Path, submission_id: str) -> Path:
    return Path(data_dir) / SUBMISSIONS_DIR / submission_id


class GradingQueue:
    """Grades uploads in upload order, outside any request, each exactly once.

    A row is 'running' while graded; a server killed meanwhile leaves it so, and the next
    start puts it back in the queue. The result is recorded only if the row is still
    'running', and only one server may use a data folder at a time (a lock file).
    """

    def __init__(self, db: Database, data_dir: Path, course: Course, threads: int = 1,
                 workers: int | None = None, scheduler: str | None = None) -> None:
        self._db = db
        self._data_dir = Path(data_dir)
        self._course = course
        self._threads = max(1, threads)
        self._engine_args: dict[str, Any] = {"workers": workers, "scheduler": scheduler}
        self._engine: Any = None
        self._engine_lock = threading.Lock()
        self._wake = threading.Condition()
        self._stop = threading.Event()
        self._running: list[threading.Thread] = []
        self._lock_file: IO[str] | None = None

    def lock(self) -> None:
        """Takes the data folder's lock: two servers grading the same rows would grade them twice.

        The kernel drops the lock when the process dies, however it dies.
        """
        if self._lock_file is not None:
            return
        handle = open(self._data_dir / "server.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise UsageError(f"{self._data_dir}: another `nnlab serve` is using this data folder") from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def start(self) -> int:
        """Re-queues what a killed server left running, then starts the grading threads."""
        self.lock()
        requeued = self._db.requeue_running()
        for index in range(self._threads):
            thread = threading.Thread(target=self._loop, name=f"nnlab-grading-{index}", daemon=True)
            thread.start()
            self._running.append(thread)
        return requeued

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops taking work; an upload still being graded is re-queued by the next start."""
        self._stop.set()
        self.wake()
        for thread in self._running:
            thread.join(timeout)
        if self._engine is not None:
            try:
                self._engine.close()
            except Exception:  # shutting down; the rows are safe in SQLite
                log.exception("closing the grading engine failed")
        if self._lock_file is not None:
            self._lock_file.close()

    def _engine_ready(self) -> Any:
        with self._engine_lock:
            if self._engine is None:
                from nnlab.engine import GradingEngine

                self._engine = GradingEngine(**self._engine_args)
            return self._engine

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                engine = self._engine_ready()
                row = self._db.claim_next()
            except Exception:  # a grading thread must outlive one bad moment
                log.exception("the grading queue could not take work; retrying in 5 s")
                self._stop.wait(5)
                continue
            if row is None:
                with self._wake:
                    self._wake.wait(1.0)
                continue
            self._grade(engine, row)

    def _grade(self, engine: Any, row: dict[str, Any]) -> None:
        from nnlab.engine import StudentJob

        assignment = self._course.assignment(row["assignment"])
        job = StudentJob(folder=submission_folder(self._data_dir, row["id"]), student=row["student"],
                         exercise_ids=assignment.exercises, seed=int(row["seed"]))
        try:
            result = engine.grade_student(job)
        except Exception as exc:  # recorded on the row, shown to the student
            log.exception("grading submission %s failed", row["id"])
            # A failure while shutting down is the shutdown's, not the student's: the row stays
            # 'running' and the next start grades it again.
            if not self._stop.is_set():
                self._db.finish(row["seq"], "error", None, None, None,
                                f"the grader failed: {type(exc).__name__}: {exc}")
            return
        self._db.finish(row["seq"], "done", json.dumps(result.to_json()), result.score,
                        result.max_score)

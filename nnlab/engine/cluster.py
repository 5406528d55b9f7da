"""Connects to the Dask cluster that grades: an embedded local one, or an existing one by address."""
from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
from typing import Any

from nnlab.errors import NnlabError
from nnlab.grader.launcher import _PRELOAD
from nnlab.worker import LAZY_IMPORTS_SETTING

WORKER_WAIT_S = 60.0
"""How long an existing cluster may take to show its first worker."""


def default_workers() -> int:
    """Local worker processes when none are asked for: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def scheduler_address(scheduler: str | None) -> str | None:
    """The cluster to use: the option, else $DASK_SCHEDULER_ADDRESS, else None (embedded)."""
    return scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


EMBEDDED_LOG_LEVEL = logging.ERROR
"""What the embedded cluster lets through: its nannies warn at shutdown ("Worker process still
alive after 4.0 seconds, killing") about processes nnlab itself stops; nothing a user can act on."""


QUIET_CLUSTER: dict[str, Any] = {
    # Dask's own periodic work, which costs CPU for every second a run lasts whatever it
    # grades (measured: the grading process spent 0.038 core-s per second of wall time on
    # it with 2 workers, 0.0085 with these): the memory monitor of each worker and of its
    # nanny every 0.1 s (most of it; 1 s still stops a runaway worker, whose students run
    # in workers of their own under their own limits), its statistical profiler sampling
    # each worker's task thread every 10 ms (no one reads it without a dashboard, and it
    # stole time from the grader's timing of the reference), the event-loop tick every
    # 20 ms, the host monitor every 0.5 s, work stealing every 0.1 s (one task per worker
    # thread at a time: nothing to steal that queuing would not place anyway).
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.scheduler.work-stealing": False,
}
"""Dask settings of the embedded cluster: none changes what is graded or where, only how
often Dask wakes up to look at itself."""


def _quiet_dask(level: int = logging.WARNING) -> None:
    # Dask logs every worker start, restart and lost connection at INFO; the grader reports
    # what matters (a student lost with a worker) in its own words.
    for name in ("distributed", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(level)


THREAD_COUNT_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""The variables that bound the threads of torch's math libraries: each grading process sets them to 1."""

WORKER_ENVIRONMENT = {**dict.fromkeys(THREAD_COUNT_VARIABLES, "1"), "MALLOC_TRIM_THRESHOLD_": "65536"}
"""What Dask gives its workers' environment before they start (its pre-spawn settings), given
to the machine's fork server instead: a process it forks keeps the fork server's environment."""

MACHINE_PRELOAD = list(_PRELOAD)
"""What the machine's fork server imports once for every process it forks, Dask workers and
their student workers: torch and the worker code, as a Dask worker's own fork server does.
Not Dask or pytest, though each Dask worker then imports them itself (about 1 core-s): every
megabyte the fork server holds makes each of the thousands of student workers it forks slower
to fork and to end (measured: +2.3 ms a worker with them, +1.5 core-s for 3 students of the
catalogue), and a student worker holds nothing of the grader's beyond what it needs."""


def _machine_fork_server(lazy_imports: bool) -> bool:
    """Starts this process's fork server with torch and the worker code loaded, for the
    embedded cluster's Dask workers and, through them, their student workers. False where
    the OS has none, or where this process runs one started otherwise (`nnlab verify` grades
    locally first) or in another environment or folder than this one: the workers are then
    spawned as fresh interpreters, as Dask does, and start fork servers of their own.

    One on the machine instead of a fresh interpreter per Dask worker importing torch and a
    fork server per Dask worker importing it again (measured: 2.7 core-s per Dask worker and
    about 3 per fork server, against 3 once). A process it forks has the environment and
    folder it was started in, not its starter's of the moment, hence the check.
    `lazy_imports`: as nnlab.engine.tasks decides it.
    """
    global _machine_started_with
    if not sys.platform.startswith("linux") or "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    environment = {**WORKER_ENVIRONMENT, LAZY_IMPORTS_SETTING: "1" if lazy_imports else "0"}
    wanted = ({**os.environ, **environment}, os.getcwd())
    with _fork_server_lock:
        if getattr(forkserver._forkserver, "_forkserver_pid", None) is not None:
            return _machine_started_with == wanted
        # The context Dask's nannies fork from (distributed.utils.get_mp_context: the one
        # forkserver of multiprocessing), without importing Dask first: the fork server's
        # torch import runs beside Dask's (0.5 s) instead of after it.
        multiprocessing.get_context("forkserver").set_forkserver_preload(MACHINE_PRELOAD)
        saved = {name: os.environ.get(name) for name in environment}
        os.environ.update(environment)  # the fork server is a fresh interpreter: it copies them
        try:
            forkserver.ensure_running()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        _machine_started_with = wanted
    return True


_machine_started_with: tuple[dict[str, str], str] | None = None
"""The environment and folder this process's fork server was started with, by
_machine_fork_server; None if it was not started there."""
_fork_server_lock = threading.Lock()


def start_local(workers: int, lazy_imports: bool = True) -> tuple[Any, Any]:
    """(cluster, client): N single-threaded worker processes on this machine, no dashboard,
    forked from one fork server with torch loaded where the OS has one (see _machine_fork_server)."""
    forked = _machine_fork_server(lazy_imports)  # first: it boots while Dask is imported
    import dask
    from distributed import Client, LocalCluster

    _quiet_dask(EMBEDDED_LOG_LEVEL)
    settings = {
        # A student whose worker dies is run once more, then recorded as an infrastructure error.
        "distributed.scheduler.allowed-failures": 1,
        "distributed.nanny.pre-spawn-environ.OMP_NUM_THREADS": 1,
        # Only for the workers started now: one that Dask restarts later (it died) is spawned, a
        # fresh interpreter, and starts its own fork server (nnlab.grader.launcher).
        "distributed.worker.multiprocessing-method": "forkserver" if forked else "spawn",
        **QUIET_CLUSTER,
    }
    with dask.config.set(settings):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=EMBEDDED_LOG_LEVEL,
                               host="127.0.0.1",
                               # Its small HTTP server (metrics) on any free port, not 8787.
                               scheduler_kwargs={"dashboard": False,
                                                 "dashboard_address": "127.0.0.1:0"})
    try:
        client = Client(cluster)
    except BaseException:
        cluster.close()
        raise
    return cluster, client


def connect(address: str) -> Any:
    """A client of an existing cluster whose workers have nnlab installed."""
    from distributed import Client

    _quiet_dask()
    try:
        client = Client(address, timeout="15s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise NnlabError(f"cannot reach the Dask scheduler at {address}: {exc} "
                         "(start one with `dask scheduler`, or leave out --scheduler and "
                         "$DASK_SCHEDULER_ADDRESS for a local cluster)") from None
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT_S)
    except TimeoutError:
        client.close()
        raise NnlabError(f"the Dask cluster at {address} has no workers after {WORKER_WAIT_S:g} s "
                         f"(start them with `dask worker {address} --nthreads 1`)") from None
    _require_nnlab(client, address)
    return client


def _nnlab_version() -> str:
    from nnlab import __version__

    return __version__


def _require_nnlab(client: Any, address: str) -> None:
    """Refuses a cluster whose workers cannot import nnlab: every student would fail there."""
    from nnlab import __version__

    try:
        versions = client.run(_nnlab_version)
    except Exception as exc:  # noqa: BLE001 - whatever a worker raised, the cluster is unusable
        client.close()
        raise NnlabError(f"the Dask workers at {address} cannot run nnlab ({type(exc).__name__}: "
                         f"{exc}); install nnlab on every worker") from None
    wrong = sorted(f"{worker} has {version}" for worker, version in versions.items()
                   if version != __version__)
    if wrong:
        client.close()
        raise NnlabError(f"the Dask workers at {address} run another nnlab version than this "
                         f"one ({__version__}): {'; '.join(wrong[:3])}")


def register_launcher(client: Any) -> None:
    """Each current and future worker of the cluster gets its warm fork server."""
    from nnlab.engine.tasks import PLUGIN_NAME, WarmLauncherPlugin

    client.register_plugin(WarmLauncherPlugin(), name=PLUGIN_NAME)

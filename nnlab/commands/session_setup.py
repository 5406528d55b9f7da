"""What every grading command needs: a launcher, and stdout kept clean of grader noise."""
from __future__ import annotations

import atexit
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NoReturn

if TYPE_CHECKING:  # importing the launcher imports torch (seconds): only once the input is sound
    from nnlab.grader.launcher import WorkerLauncher


def preflight(path: Path) -> None:
    """Refuses a missing path or a file not named after an exercise before torch is imported,
    so a mistyped name answers in a fraction of a second."""
    from nnlab.grader.exercise import load_catalogue
    from nnlab.grader.submission import collect

    collect(path, load_catalogue())


def start_fork_server_early() -> None:
    """Starts the fork server's boot in the background; the launcher adopts it."""
    from nnlab.grader.launcher import start_fork_server_early as start

    start()


@contextlib.contextmanager
def grading_launcher() -> Iterator[WorkerLauncher]:
    """A launcher for one command, a worker always started ahead (someone waits for the
    answer); pytest's and torch's chatter goes to stderr meanwhile."""
    from nnlab.grader.launcher import WorkerLauncher

    launcher = WorkerLauncher(spare=True)
    with contextlib.redirect_stdout(sys.stderr):
        yield launcher


def skip_torch_library_teardown() -> None:
    """Spares a process about to end the unregistering of torch's operator libraries (134 with
    torch._dynamo loaded: 39 ms of its exit here), undone by the end of the process anyway."""
    import weakref

    try:
        from torch.library import _del_library
    except ImportError:  # another torch: its teardown runs as it is
        return
    registry = getattr(weakref.finalize, "_registry", {})
    for finalizer, info in list(registry.items()):
        if getattr(info, "func", None) is _del_library:
            finalizer.atexit = False


def exit_promptly(code: int) -> NoReturn:
    """Ends the program without tearing torch's modules down one by one.

    With torch loaded, the interpreter's own shutdown takes about 0.4 s here: an eighth
    of a whole `nnlab submit`. The output is flushed and every atexit handler (worker
    clean-up, the fork server's shutdown) runs first; only the module teardown is skipped.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    if "torch" in sys.modules:
        skip_torch_library_teardown()
    atexit._run_exitfuncs()
    os._exit(code)


@contextlib.contextmanager
def warm_grader(args: list[str]) -> Iterator[int | None]:
    """The exit status of `nnlab ARGS` as this user's warm grader ran it; None: grade here.

    After grading here, a daemon is started in the background for the next command.
    """
    from nnlab.daemon.place import daemon_allowed

    if not daemon_allowed():
        yield None
        return
    from nnlab.daemon.client import grade_warm, leave_daemon
    from nnlab.daemon.place import check_idle_setting

    code = grade_warm(args)
    if code is None:
        check_idle_setting()  # before grading here: the daemon left afterwards reads it
    yield code
    if code is None:
        leave_daemon()

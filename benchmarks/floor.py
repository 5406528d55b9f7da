"""Prints `nnlab grade`'s core-seconds per submission over the floor: the same checks in one trusted process.

    python benchmarks/floor.py [--students 20] [--workers 2] [--catalogue] [--phase-students 5] [--processes]

The floor is a benchmark-only harness, never a grading path: each reference solution is
loaded straight into this process (no worker, no confinement, no banned-API tracing, no
pytest) and every check function of the exercise's check files (public, hidden, timing) is
called on it directly, with the same seeds and fixtures' values. `nnlab grade` grades the
same class in the same run. Core-seconds are user+system CPU of each side's whole process
tree (getrusage of children, with this process as the subreaper of orphans such as fork
servers, so none escapes the count). The breakdown says where the difference goes, in
CPU milliseconds per submission of one warm process on each side (the grader's own CPU by
phase, its workers' read from /proc before each is killed and again as reaped: their ends,
the fork server's).
"""
from __future__ import annotations

import argparse
import ctypes
import importlib
import inspect
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from checkout import this_checkout  # beside this script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout, whatever copy is installed
_PR_SET_CHILD_SUBREAPER = 36
SEED = 1


def _make_class(root: Path, students: int, exercises: list[str]) -> Path:
    for index in range(students):
        folder = root / "class" / f"student{index:03d}"
        folder.mkdir(parents=True)
        for exercise in exercises:
            shutil.copy(ROOT / "nnlab" / "solutions" / f"{exercise}.py", folder / f"{exercise}.py")
    return root / "class"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _reap_orphans(limit_s: float = 60.0) -> None:
    """Waits for the descendants that outlived their parents (fork servers, trackers)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


_ROLES = (("forkserver import main", "fork server"), ("spawn_main", "Dask worker"),
          ("nnlab.engine.reaper", "reaper"), ("resource_tracker", "resource tracker"),
          ("nnlab.cli", "grading process (scheduler, nannies)"))


def _role(command: str, parent: str, threads: int) -> str:
    if "forkserver import main" in command and "forkserver import main" in parent:
        # Forked by a fork server: a student worker (one thread; a student may start more, in
        # a few checks), or a Dask worker of the embedded cluster (its event loop, its task
        # thread and their helpers).
        return "Dask worker" if threads >= 4 else "student workers (seen live)"
    return next((role for key, role in _ROLES if key in command), "other")


class _ProcessWatch:
    """Own CPU of every process of a tree by role, read from /proc every 50 ms while it runs
    (a process that lives under 50 ms may be missed, so the rows add up to a little less)."""

    def __init__(self, root: int) -> None:
        import threading

        self.root, self.seen = root, {}  # (pid, start) -> [own CPU, command, parent command, threads]
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while self.running:
            frontier, commands = [self.root], {}
            while frontier:
                pid = frontier.pop()
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    # Each thread's own: a process started from another thread is listed there.
                    children = [c for task in Path(f"/proc/{pid}/task").iterdir()
                                for c in (task / "children").read_text().split()]
                except (OSError, IndexError, UnicodeError):
                    continue
                commands[pid] = command
                key = (pid, fields[19])
                own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                entry = self.seen.setdefault(key, [0.0, "", "", 0])
                entry[0] = max(entry[0], own)
                entry[3] = max(entry[3], int(fields[17]))  # num_threads
                # The latest command line: one seen between fork and exec is its parent's.
                entry[1] = command or entry[1]
                entry[2] = commands.get(int(fields[1])) or entry[2]
                frontier += [int(c) for c in children]
            time.sleep(0.05)

    def stop(self) -> dict[str, tuple[int, float]]:
        """{role: (processes, core-seconds)}."""
        self.running = False
        self.thread.join()
        roles: dict[str, tuple[int, float]] = {}
        for own, command, parent, threads in self.seen.values():
            role = _role(command, parent, threads)
            count, seconds = roles.get(role, (0, 0.0))
            roles[role] = (count + 1, seconds + own)
        return roles


def _measured(command: list[str], watch: bool = False, env: dict[str, str] | None = None
              ) -> tuple[float, float, str, dict[str, Any]]:
    """(core-seconds of the whole process tree, wall seconds, stdout, CPU by process role if
    `watch`) of one command."""
    _reap_orphans(1)
    before, started = _children_cpu(), time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, cwd=ROOT)
    watcher = _ProcessWatch(process.pid) if watch and sys.platform.startswith("linux") else None
    stdout, stderr = process.communicate()
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stderr[-3000:]}")
    _reap_orphans()
    roles = watcher.stop() if watcher else {}
    return _children_cpu() - before, wall, done.stdout, roles


# -- the floor: one trusted process ------------------------------------------------------------
class _InProcessConn:
    """A worker's pipe whose other end is a Worker object in this very process."""

    def __init__(self) -> None:
        from nnlab.wire import codec, messages
        from nnlab.wire.confinement import Confinement
        from nnlab.worker.server import Worker

        self.worker = Worker()
        self.replies = [codec.encode(messages.Hello(Confinement("none", ()), os.getpid()))]

    def send_bytes(self, payload: bytes) -> None:
        from nnlab.worker.server import _answer

        self.replies.append(_answer(self.worker, payload))

    def poll(self, timeout: float | None = None) -> bool:
        return bool(self.replies)

    def recv_bytes(self, limit: int | None = None) -> bytes:
        return self.replies.pop(0)

    def close(self) -> None:
        pass


class _InProcessLauncher:
    """Stands in for the WorkerLauncher: the 'worker' is this process, loaded once per file."""

    limits = None

    def start(self) -> Any:
        from nnlab.grader.launcher import WorkerProcess

        class _NoProcess:
            pid = None

        class _ThisProcess(WorkerProcess):
            @property
            def pid(self) -> Any:
                return None  # nothing to freeze while the reference runs, no clock of its own

        return _ThisProcess(_NoProcess(), _InProcessConn(), Path(tempfile.mkdtemp()))


def _check_functions(exercise: Any) -> list[tuple[str, Callable[..., Any]]]:
    """The exercise's check functions in file order, timing checks last (as the runner runs them)."""
    from nnlab.grader.checks import is_timing_check

    found = []
    for path in exercise.check_files(True):
        # As a module of the exercise's package: a check file may import its sibling relatively.
        package = ".".join(path.parent.relative_to(ROOT).parts)
        module = importlib.import_module(f"{package}.{path.stem}")
        tests = [(n, f) for n, f in vars(module).items() if n.startswith("test_") and callable(f)]
        found += sorted(tests, key=lambda item: item[1].__code__.co_firstlineno)
    return sorted(found, key=lambda item: is_timing_check(item[1]))


class _Clock:
    """Wall seconds by phase, and gradcheck's own share wherever it runs."""

    def __init__(self) -> None:
        import torch

        self.seconds: dict[str, float] = defaultdict(float)
        original = torch.autograd.gradcheck

        def gradcheck(*args: Any, **kwargs: Any) -> Any:
            began = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds["gradcheck"] += time.process_time() - began

        torch.autograd.gradcheck = gradcheck  # the checks call it through torch.autograd


def floor_run(class_dir: Path, exercises: list[str], warm_up: bool = False) -> dict[str, Any]:
    """Every check of every exercise on every student's file, in this process; counts passed.

    `warm_up`: the first student once more beforehand, not counted (first-call imports), as
    the warm grading process it is compared with has had.
    """
    import torch

    from nnlab.grader.checks import CheckBoard, GradingContext, is_timing_check
    from nnlab.grader.exercise import get_exercise
    from nnlab.grader.runner import derive_seed, timing_device
    from nnlab.grader.session import WorkerSession
    from nnlab.results import Outcome

    clock = _Clock()
    launcher, threads = _InProcessLauncher(), torch.get_num_threads()
    functions = {e: _check_functions(get_exercise(e)) for e in exercises}
    passed = total = 0
    students = sorted(p for p in class_dir.iterdir() if p.is_dir())
    for index, student in enumerate(students[:1] + students if warm_up else students):
        if warm_up and index == 1:
            clock.seconds.clear()
            passed = total = 0
        for exercise_id in exercises:
            exercise = get_exercise(exercise_id)
            source, filename = (student / f"{exercise_id}.py").read_text(), f"{exercise_id}.py"
            began = time.process_time()
            session = WorkerSession(launcher, source, filename, [], [], exercise.check_seconds, SEED)
            clock.seconds["load"] += time.process_time() - began
            session.deadline = float("inf")  # one "worker" for all the checks: no check limit
            board = CheckBoard()
            for name, function in functions[exercise_id]:
                context = GradingContext(exercise, SEED, derive_seed(SEED, exercise.id, name),
                                         timing_device(), launcher, source, filename, name, board)
                torch.manual_seed(context.check_seed)
                began, gradchecked = time.process_time(), clock.seconds["gradcheck"]
                args = (session.root, context)[:len(inspect.signature(function).parameters)]
                try:
                    function(*args)
                    outcome = Outcome.PASSED
                except BaseException as error:  # noqa: BLE001 - a verdict, as the runner records it
                    outcome = Outcome.SKIPPED if "Skipped" in type(error).__name__ else Outcome.FAILED
                    print(f"floor: {exercise_id} {name}: {type(error).__name__}: {error}"[:400],
                          file=sys.stderr)
                board.outcomes[name] = outcome
                torch.set_num_threads(threads)  # a check may have made "the worker" single-threaded
                spent = time.process_time() - began - (clock.seconds["gradcheck"] - gradchecked)
                clock.seconds["timing" if is_timing_check(function) else "other checks"] += spent
                passed, total = passed + (outcome is Outcome.PASSED), total + 1
    return {"passed": passed, "checks": total, "seconds": dict(clock.seconds)}


# -- nnlab: one warm grading process, by phase -------------------------------------------------
def _proc_cpu(pid: int, children: bool) -> float:
    """User+system CPU seconds of a live process (with its reaped children's), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(v) for v in fields[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def _reaped_cpu(pid: int | None) -> float:
    """CPU seconds of the children `pid` has reaped (cutime + cstime), from /proc."""
    return _proc_cpu(pid, True) - _proc_cpu(pid, False) if pid else 0.0


def _cpu_wrapped(function: Callable[..., Any], seconds: dict[str, float], key: str) -> Callable[..., Any]:
    import functools

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[key] += time.process_time() - began

    return wrapper


def nnlab_phases(class_dir: Path, exercises: list[str]) -> dict[str, Any]:
    """A warm grading process (fork server up, checks collected) grading the class: CPU by phase.

    The grader's own CPU by what it was doing, plus the workers' (read just before each is
    killed) and the fork server's.
    """
    from multiprocessing import forkserver

    from nnlab.grader import launcher as launching, runner
    from nnlab.grader import session as worker_session
    from nnlab.grader.checks import is_timing_check
    from nnlab.grader.pipeline import GradeRequest, grade_student

    clock = _Clock()
    launcher = launching.WorkerLauncher()
    students = sorted(p for p in class_dir.iterdir() if p.is_dir())
    grade_student(GradeRequest(students[0], seed=SEED, exercise_ids=tuple(exercises)), launcher)
    seconds = clock.seconds
    seconds.clear()
    for collected in runner._collected.values():  # each check function, timed on its own
        for item in collected.items if collected else ():
            key = "timing" if is_timing_check(item.obj) else "other checks"
            item.obj = _cpu_wrapped(item.obj, seconds, key)
    session_class, process_class = worker_session.WorkerSession, launching.WorkerProcess
    session_class.__init__ = _cpu_wrapped(session_class.__init__, seconds, "worker start and load")
    kill = process_class.kill

    def measured_kill(self: Any) -> None:
        seconds["workers (own CPU)"] += _proc_cpu(self.pid, children=True)
        kill(self)

    process_class.kill = measured_kill  # type: ignore[method-assign]
    server = forkserver._forkserver._forkserver_pid
    # The fork server's own CPU only: its reaped children are the workers, counted above.
    began, served_before = time.process_time(), _proc_cpu(server, False) if server else 0.0
    reaped_before = _reaped_cpu(server)
    results = [grade_student(GradeRequest(s, seed=SEED, exercise_ids=tuple(exercises)), launcher)
               for s in students]
    whole = time.process_time() - began
    time.sleep(2.0)  # the last workers end and are reaped off this thread
    seconds["fork server"] = (_proc_cpu(server, False) - served_before) if server else 0.0
    # A worker's CPU as its fork server reaped it, less what it had used when it was killed:
    # its end, the kernel tearing down the page tables of a process with torch mapped.
    seconds["worker ends (after kill)"] = max(0.0, _reaped_cpu(server) - reaped_before
                                              - seconds["workers (own CPU)"])
    # A check's own CPU includes the gradcheck it ran: counted once, under gradcheck.
    seconds["other checks"] -= seconds["gradcheck"]
    grader = sum(v for k, v in seconds.items()
                 if k not in ("workers (own CPU)", "fork server", "worker ends (after kill)"))
    seconds["pytest and results"] = whole - grader
    checks = [c for r in results for e in r.exercises for c in e.checks]
    passed = sum(c.outcome.value == "passed" for c in checks)
    return {"passed": passed, "checks": len(checks), "seconds": dict(seconds)}


def _inner(mode: str, class_dir: Path, exercises: list[str]) -> None:
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):  # pytest's and students' chatter
        if mode == "nnlab":
            figures = nnlab_phases(class_dir, exercises)
        else:
            figures = floor_run(class_dir, exercises, warm_up=mode == "floor-warm")
    print(json.dumps(figures))
    sys.stdout.flush()
    os._exit(0)


def _report(title: str, students: int, nnlab: tuple[float, float], floor: tuple[float, float],
            phases: dict[str, Any], floor_phases: dict[str, Any], phase_students: int) -> None:
    per_n, per_f = nnlab[0] / students, floor[0] / students
    print(f"\n{title}: {students} students, one run, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  nnlab grade   {nnlab[0]:8.1f} core-s ({nnlab[1]:.1f} s wall): {per_n:.3f} core-s per submission")
    print(f"  floor         {floor[0]:8.1f} core-s ({floor[1]:.1f} s wall): {per_f:.3f} core-s per submission")
    print(f"  nnlab / floor {per_n / per_f:8.2f}x core-seconds per submission")
    print(f"  where the difference goes: CPU ms per submission of one warm process each "
          f"({phase_students} students; checks passed: nnlab {phases['passed']}/{phases['checks']}, "
          f"floor {floor_phases['passed']}/{floor_phases['checks']}):")
    rows = {"worker start and load": "load", "workers (own CPU)": None,
            "worker ends (after kill)": None, "fork server": None,
            "pytest and results": None, "gradcheck": "gradcheck", "timing": "timing",
            "other checks": "other checks"}
    for name, twin in rows.items():
        ours = phases["seconds"].get(name, 0.0) * 1000 / phase_students
        theirs = floor_phases["seconds"].get(twin, 0.0) * 1000 / phase_students if twin else 0.0
        print(f"    {name:<24} nnlab {ours:8.1f}  floor {theirs:8.1f}  difference {ours - theirs:8.1f}")
    warm_n = sum(phases["seconds"].values()) / phase_students
    warm_f = sum(floor_phases["seconds"].values()) / phase_students
    print(f"    {'warm, all of the above':<24} nnlab {warm_n * 1000:8.1f}  floor {warm_f * 1000:8.1f}  "
          f"ratio {warm_n / warm_f:.2f}x")
    print(f"    {'start-up and cluster':<24} nnlab {(per_n - warm_n) * 1000:8.1f}  floor "
          f"{(per_f - warm_f) * 1000:8.1f}  (the rest of each side's core-seconds per submission)")


def compare(root: Path, exercises: list[str], students: int, workers: int, phase_students: int,
            title: str, processes: bool = False) -> None:
    class_dir = _make_class(root, students, exercises)
    listed = ",".join(exercises)
    nnlab = _measured([sys.executable, "-m", "nnlab.cli", "grade", str(class_dir), "--out",
                       str(root / "out"), "--workers", str(workers), "--seed", str(SEED),
                       "--exercises", listed, "--no-similarity"], watch=processes, env=this_checkout())
    me = [sys.executable, str(Path(__file__).resolve())]
    floor = _measured([*me, "--inner", "floor", str(class_dir), listed])
    few = _make_class(root / "few", phase_students, exercises)
    phases = json.loads(_measured([*me, "--inner", "nnlab", str(few), listed])[2])
    floor_phases = json.loads(_measured([*me, "--inner", "floor-warm", str(few), listed])[2])
    _report(title, students, nnlab[:2], floor[:2], phases, floor_phases, phase_students)
    if processes:
        print(f"  nnlab grade's core-seconds by process, as seen live ({students} students):")
        for role, (count, seconds) in sorted(nnlab[3].items(), key=lambda item: -item[1][1]):
            print(f"    {role:<38} {count:5d} processes {seconds:8.1f} core-s "
                  f"({seconds / students:.3f} per submission)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--phase-students", type=int, default=5)
    parser.add_argument("--catalogue", action="store_true", help="also the 24-exercise catalogue")
    parser.add_argument("--catalogue-only", action="store_true", help="the catalogue alone")
    parser.add_argument("--catalogue-students", type=int, default=3)
    parser.add_argument("--processes", action="store_true",
                        help="also nnlab grade's CPU by process (fork servers, Dask workers...)")
    parser.add_argument("--inner", nargs=3, metavar=("MODE", "CLASS", "IDS"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.inner:
        _inner(options.inner[0], Path(options.inner[1]), options.inner[2].split(","))
        return
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    from nnlab.grader.exercise import load_catalogue

    root = Path(tempfile.mkdtemp(prefix="nnlab-floor-"))
    try:
        if not options.catalogue_only:
            compare(root / "one", ["my_linear"], options.students, options.workers,
                    options.phase_students, "my_linear", options.processes)
        if options.catalogue or options.catalogue_only:
            ids = [e.id for e in load_catalogue()]
            compare(root / "all", ids, options.catalogue_students, options.workers,
                    min(options.phase_students, options.catalogue_students), "the 24-exercise catalogue",
                    options.processes)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

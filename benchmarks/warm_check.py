"""Prints a student's `nnlab check` wall time cold (--no-daemon) beside warm (the per-user daemon).

Each run is the `nnlab` program as a student starts it, on the my_linear solution, with its
own runtime folder so no other daemon answers, importing a copy of this checkout's nnlab (an edit
made meanwhile would make the daemon stale). Also printed: what the client's identity check costs,
with and without the daemon's watch. `--baseline OTHER/nnlab` times another nnlab's warm
checks in turn with this one's. Usage: python benchmarks/warm_check.py [--runs N] [--baseline PACKAGE]
[--warm-only]
"""
from __future__ import annotations

import argparse
import compileall
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from nnlab.daemon import place

ROOT = Path(__file__).resolve().parent.parent


def _program() -> list[str]:
    # The entry point beside this interpreter, as a student's virtual environment has it; one
    # found on PATH may be a version manager's shim (pyenv's adds 0.1 s of bash to each start).
    beside = Path(sys.executable).parent / "nnlab"
    found = str(beside) if beside.is_file() else shutil.which("nnlab")
    return [found] if found else [sys.executable, "-m", "nnlab.cli"]


def _timed(env: dict[str, str], cwd: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([*_program(), *args], env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"nnlab {' '.join(args)} failed: {done.stderr}")
    return wall, done.stdout


def _hello(runtime: Path) -> dict | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    try:
        conn.connect(str(runtime / "nnlab" / place.SOCKET_NAME))
        return place.receive_message(conn)[0]
    except (OSError, EOFError):
        return None
    finally:
        conn.close()


def _stop(runtime: Path) -> None:
    hello = _hello(runtime)
    if hello is not None:
        os.kill(int(hello["pid"]), signal.SIGTERM)  # the daemon removes its socket and leaves


def _summary(name: str, walls: list[float]) -> str:
    return (f"{name:<34} median {statistics.median(walls):6.3f} s  min {min(walls):6.3f} s  "
            f"max {max(walls):6.3f} s  ({len(walls)} runs)")


def _identity_cost(subject: _Subject, work: Path, runs: int) -> str:
    """The client's identity check in a fresh interpreter importing the subject's nnlab (run in
    `work`: the folder it starts in comes first on its path), median of `runs` (an nnlab
    before the daemon's watch only compares the digest)."""
    script = (
        "import socket, statistics, sys, time\n"
        "from nnlab.daemon import place\n"
        "conn = socket.socket(socket.AF_UNIX); conn.connect(sys.argv[1])\n"
        "hello = place.receive_message(conn)[0]; conn.close()\n"
        "def cost(what):\n"
        "    walls = []\n"
        "    for _ in range(int(sys.argv[2])):\n"
        "        started = time.perf_counter(); ok = what(); walls.append(time.perf_counter() - started)\n"
        "        assert ok\n"
        "    return statistics.median(walls) * 1e3\n"
        "full = cost(lambda: hello['identity'] == place.own_identity().to_json())\n"
        "used = cost(lambda: place.matches(hello)) if hasattr(place, 'matches') else full\n"
        "print(f'{full:.2f} ms with the digest, {used:.2f} ms as used (watched: {hello.get(\"watched\")})')\n")
    done = subprocess.run([sys.executable, "-c", script, str(subject.runtime / "nnlab" / place.SOCKET_NAME),
                           str(max(runs, 20))], env=subject.env, cwd=work, capture_output=True, text=True)
    return done.stdout.strip() or done.stderr.strip().splitlines()[-1]


@dataclass(frozen=True)
class _Subject:
    """One nnlab under test: a copy of its package, its own runtime folder (and so daemon)."""

    name: str
    runtime: Path
    env: dict[str, str]


def _subject(name: str, package: Path, work: Path) -> _Subject:
    runtime = Path(tempfile.mkdtemp(prefix="nnw", dir="/tmp"))
    copy = work / name
    shutil.copytree(package, copy / "nnlab", ignore=shutil.ignore_patterns("__pycache__"))
    # Byte-compiled, as pip installs a package: where PYTHONDONTWRITEBYTECODE is set (this
    # machine's shells), each start would otherwise compile every module it imports.
    compileall.compile_dir(copy / "nnlab", quiet=1)
    env = {k: v for k, v in os.environ.items() if k != place.OFF_SETTING}
    env.update({"XDG_RUNTIME_DIR": str(runtime), place.IDLE_SETTING: "600", "PYTHONPATH": str(copy)})
    return _Subject(name, runtime, env)


def _warm_up(subject: _Subject, work: Path) -> tuple[float, str, float]:
    """The first check (it leaves the daemon), and how long the daemon took to answer after it."""
    first = _timed(subject.env, work, "check", "my_linear.py", "--seed", "1")
    booted = time.perf_counter()
    while _hello(subject.runtime) is None:
        time.sleep(0.1)
    return first[0], first[1], time.perf_counter() - booted


def _compare(subjects: list[_Subject], work: Path, runs: int) -> dict[str, list[tuple[float, str]]]:
    """Warm checks, the subjects taking turns, so that the machine's load falls on each alike."""
    served = {s.name: _hello(s.runtime)["served"] for s in subjects}
    warm: dict[str, list[tuple[float, str]]] = {s.name: [] for s in subjects}
    for _ in range(runs):
        for subject in subjects:
            warm[subject.name].append(_timed(subject.env, work, "check", "my_linear.py", "--seed", "1"))
    for subject in subjects:
        assert _hello(subject.runtime)["served"] == served[subject.name] + runs, \
            f"a warm run of {subject.name} was not served by its daemon"
    return warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None, metavar="PACKAGE",
                        help="another nnlab package folder (e.g. an older checkout's nnlab/): its "
                             "warm checks take turns with this checkout's, and are printed beside them")
    parser.add_argument("--warm-only", action="store_true", help="skip the cold (--no-daemon) runs")
    options = parser.parse_args()
    runs = options.runs
    work = Path(tempfile.mkdtemp(prefix="nnlab-warm-"))
    shutil.copy(ROOT / "nnlab" / "solutions" / "my_linear.py", work / "my_linear.py")
    subjects = [_subject("this", ROOT / "nnlab", work)]
    if options.baseline is not None:
        subjects.insert(0, _subject("baseline", options.baseline.resolve(), work))
    this = subjects[-1]
    try:
        floor = [_timed(this.env, work, "--version")[0] for _ in range(runs)]
        cold = [] if options.warm_only else [
            _timed(this.env, work, "check", "my_linear.py", "--seed", "1", "--no-daemon") for _ in range(runs)]
        firsts = {s.name: _warm_up(s, work) for s in subjects}
        warm = _compare(subjects, work, runs)
        outputs = [out for _, out in cold] + [f[1] for f in firsts.values()]
        outputs += [out for walls in warm.values() for _, out in walls]
        print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
        print(_summary("nnlab --version (start-up floor)", floor))
        if cold:
            print(_summary("check --no-daemon (cold)", [w for w, _ in cold]))
        for subject in subjects:
            label = "" if len(subjects) == 1 else f" [{subject.name}]"
            wall, _, boot_s = firsts[subject.name]
            print(f"{'first check (leaves the daemon)' + label:<34} {wall:6.3f} s; the daemon answered "
                  f"{boot_s:.1f} s after it returned")
            print(_summary("check, daemon warm" + label, [w for w, _ in warm[subject.name]]))
            print(f"{'identity check in the client' + label:<34} {_identity_cost(subject, work, runs)}")
        print(f"output identical in every run: {all(out == outputs[0] for out in outputs)}")
    finally:
        for subject in subjects:
            _stop(subject.runtime)
        deadline = time.monotonic() + 60
        while any((s.runtime / "nnlab").exists() for s in subjects) and time.monotonic() < deadline:
            time.sleep(0.1)  # each daemon removes its socket and folder as it leaves
        for subject in subjects:
            shutil.rmtree(subject.runtime, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

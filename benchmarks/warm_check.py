"""Prints a student's `nnlab check` wall time cold (--no-daemon) beside warm (the per-user daemon).

Each run is the `nnlab` program as a student starts it, on the my_linear solution, with its
own runtime folder so no other daemon answers. Usage: python benchmarks/warm_check.py [--runs N]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnlab.daemon import place

ROOT = Path(__file__).resolve().parent.parent


def _program() -> list[str]:
    found = shutil.which("nnlab")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    runtime = Path(tempfile.mkdtemp(prefix="nnw", dir="/tmp"))
    work = Path(tempfile.mkdtemp(prefix="nnlab-warm-"))
    shutil.copy(ROOT / "nnlab" / "solutions" / "my_linear.py", work / "my_linear.py")
    env = {k: v for k, v in os.environ.items() if k != place.OFF_SETTING}
    env.update({"XDG_RUNTIME_DIR": str(runtime), place.IDLE_SETTING: "600"})
    try:
        floor = [_timed(env, work, "--version")[0] for _ in range(runs)]
        cold = [_timed(env, work, "check", "my_linear.py", "--seed", "1", "--no-daemon")
                for _ in range(runs)]
        first = _timed(env, work, "check", "my_linear.py", "--seed", "1")  # leaves the daemon
        booted = time.perf_counter()
        while _hello(runtime) is None:
            time.sleep(0.1)
        boot_s = time.perf_counter() - booted
        served = _hello(runtime)["served"]
        warm = [_timed(env, work, "check", "my_linear.py", "--seed", "1") for _ in range(runs)]
        assert _hello(runtime)["served"] == served + runs, "a warm run was not served by the daemon"
        same = all(out == cold[0][1] for _, out in [*cold, first, *warm])
        print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
        print(_summary("nnlab --version (start-up floor)", floor))
        print(_summary("check --no-daemon (cold)", [w for w, _ in cold]))
        print(f"{'first check (leaves the daemon)':<34} {first[0]:6.3f} s; the daemon answered "
              f"{boot_s:.1f} s after it returned")
        print(_summary("check, daemon warm", [w for w, _ in warm]))
        print(f"output identical in every run: {same}")
    finally:
        _stop(runtime)
        deadline = time.monotonic() + 60
        while (runtime / "nnlab").exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # the daemon removes its socket and folder as it leaves
        shutil.rmtree(runtime, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""The fork server's shared Landlock layer plus a worker's own allow exactly what one full layer does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from nnlab.worker.sandbox import landlock

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or landlock.landlock_abi() < 1,
                                reason="needs Landlock")

# Run in a process of its own: prepare_rules sets module state, as in a fork server.
_PROBE = textwrap.dedent('''
    import json, os, sys, tempfile
    from pathlib import Path
    import torch
    import nnlab
    from nnlab.worker.sandbox import Limits, confine, landlock

    landlock.prepare_rules(gpu=False)
    if sys.argv[1] == "full":
        landlock._forget_shared_layer()
    shared = landlock._shared is not None
    temp = Path(tempfile.gettempdir())
    root = Path(tempfile.mkdtemp(prefix="nnlab-run-"))
    mine, other = root / "worker-mine", root / "worker-other"
    mine.mkdir()
    other.mkdir()
    (other / "output.log").write_text("another student's output")
    (temp / "beside.txt").write_text("beside the run")
    torch_init = Path(torch.__file__)
    nnlab_init = Path(nnlab.__file__)
    parent = os.getpid()

    def attempt(fn):
        try:
            fn()
            return "allowed"
        except OSError as exc:
            return "denied" if exc.errno in (1, 13) else f"errno {exc.errno}"

    def write(path):
        with open(path, "w") as handle:
            handle.write("x")

    def landlock_fds():
        return [fd for fd in os.listdir("/proc/self/fd")
                if "landlock" in (os.readlink(f"/proc/self/fd/{fd}") if os.path.exists(f"/proc/self/fd/{fd}") else "")]

    hold_fd, release_fd = os.pipe()
    sibling = os.fork()
    if sibling == 0:  # another worker, confined the same way, waiting
        confine(other, [], Limits(), keep_fds=[hold_fd])
        os.read(hold_fd, 1)
        os._exit(0)

    def round_trip():
        (mine / "sub").mkdir()
        write(mine / "sub" / "a.txt")
        os.rename(mine / "sub" / "a.txt", mine / "b.txt")
        return (mine / "b.txt").read_text()

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        confinement = confine(mine, [], Limits(), keep_fds=[write_fd])
        found = {
            "level": confinement.level,
            "read own scratch": attempt(round_trip),
            "signal another worker": attempt(lambda: os.kill(sibling, 0)),
            "read another worker's scratch": attempt(lambda: (other / "output.log").read_text()),
            "list another worker's scratch": attempt(lambda: os.listdir(other)),
            "write another worker's scratch": attempt(lambda: write(other / "planted.py")),
            "read beside the run folder": attempt(lambda: (temp / "beside.txt").read_text()),
            "write beside the run folder": attempt(lambda: write(temp / "planted.txt")),
            "read torch": attempt(lambda: torch_init.read_text()),
            "write beside torch": attempt(lambda: write(torch_init.parent / "planted.py")),
            "read nnlab": attempt(lambda: nnlab_init.read_text()),
            "read the parent's /proc": attempt(lambda: Path(f"/proc/{parent}/cmdline").read_bytes()),
            "read its own /proc": attempt(lambda: Path("/proc/self/status").read_text()),
            "read /proc/cpuinfo": attempt(lambda: Path("/proc/cpuinfo").read_text()),
            "write /dev/null": attempt(lambda: write(Path("/dev/null"))),
            "read /etc/passwd": attempt(lambda: Path("/etc/passwd").read_text()),
            "rulesets left open": landlock_fds(),
        }
        os.write(write_fd, json.dumps(found).encode())
        os._exit(0)
    os.close(write_fd)
    data = b""
    while chunk := os.read(read_fd, 65536):
        data += chunk
    os.waitpid(pid, 0)
    os.write(release_fd, b"x")
    os.waitpid(sibling, 0)
    print(json.dumps({"shared": shared, "found": json.loads(data)}))
''')

EXPECTED = {
    "level": "full",
    "read own scratch": "allowed",
    "signal another worker": "denied",
    "read another worker's scratch": "denied",
    "list another worker's scratch": "denied",
    "write another worker's scratch": "denied",
    "read beside the run folder": "denied",
    "write beside the run folder": "denied",
    "read torch": "allowed",
    "write beside torch": "denied",
    "read nnlab": "denied",
    "read the parent's /proc": "denied",
    "read its own /proc": "allowed",
    "read /proc/cpuinfo": "allowed",
    "write /dev/null": "allowed",
    "read /etc/passwd": "denied",
    "rulesets left open": [],
}


def _probe(mode: str, temp: Path) -> dict[str, Any]:
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    env.pop("NNLAB_COURSE", None)
    done = subprocess.run([sys.executable, "-c", _PROBE, mode], env=env, capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_shared_and_own_layers_allow_what_the_full_layer_allows(tmp_path: Path) -> None:
    """Each worker's scratch folder lies beneath the temporary folder that the shared layer opens
    whole: another worker's folder, anything beside it, nnlab and other processes' /proc stay
    shut, as with one full layer (a worker that skipped its own layer would read them)."""
    shared = _probe("shared", tmp_path / "shared")
    full = _probe("full", tmp_path / "full")
    assert shared["shared"] and not full["shared"]
    assert shared["found"] == EXPECTED
    assert full["found"] == EXPECTED


def test_no_shared_layer_where_nnlab_lies_beneath_the_temporary_folder(tmp_path: Path) -> None:
    """The shared layer opens the temporary folder whole: it must not hold nnlab or the course."""
    hidden = tmp_path / "course"
    hidden.mkdir()
    assert landlock._build_shared_layer([], [hidden], []) is None

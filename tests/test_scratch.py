"""Scratch folders: removed on exit and on SIGTERM; one a killed grader left is swept by the next, a live one never."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from nnlab.grader import scratch
from procs import processes_with

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "nnlab" / "solutions" / "my_linear.py"
LIMIT_S = 480.0
"""A grader imports torch and boots its fork server: minutes on a crowded two-core machine."""


def _dead_owner(parent: Path) -> scratch.Owner:
    """An owner that has exited: a process started, read and reaped."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    start = scratch.process_start(process.pid)
    process.communicate(b"")
    here = scratch.this_process()
    assert here is not None and start
    return scratch.Owner(process.pid, start, here.host)


def _folder(parent: Path, owner: scratch.Owner | None) -> Path:
    return Path(tempfile.mkdtemp(prefix=scratch.PREFIX + (owner.tag() if owner else ""), dir=parent))


def test_sweep_removes_only_folders_of_dead_owners(tmp_path: Path) -> None:
    """Does a sweep remove the folders of a dead owner and of a reused pid, and keep a live
    owner's, an older nnlab's (no owner named), another boot's, a link, and another user's?"""
    here = scratch.this_process()
    assert here is not None
    dead = _dead_owner(tmp_path)
    stale = _folder(tmp_path, dead)
    (stale / "worker-x").mkdir()
    (stale / "worker-x" / "student.py").write_text("x = 1\n")
    os.chmod(stale / "worker-x", 0o500)  # a student's code took its own folder's permissions
    reused = _folder(tmp_path, scratch.Owner(here.pid, str(int(here.start) + 1), here.host))
    live = _folder(tmp_path, here)
    legacy = _folder(tmp_path, None)
    other_boot = _folder(tmp_path, scratch.Owner(dead.pid, dead.start, "0badb007"))
    target = tmp_path / "not-scratch"
    target.mkdir()
    link = tmp_path / (scratch.PREFIX + dead.tag() + "link0000")
    link.symlink_to(target)

    assert scratch.sweep(tmp_path, uid=os.getuid() + 1) == []  # none of them is another user's
    assert sorted(scratch.sweep(tmp_path)) == sorted([stale, reused])
    assert not stale.exists() and not reused.exists()
    assert live.is_dir() and legacy.is_dir() and other_boot.is_dir() and target.is_dir()
    assert link.is_symlink()


def test_owner_is_read_back_from_the_name() -> None:
    """Is the owner a folder's name records read back exactly, and a name of another form
    (an older nnlab's, a mistyped one) read as no owner?"""
    owner = scratch.Owner(4242, "987654", "a1b2c3d4")
    assert scratch.owner_of(scratch.PREFIX + owner.tag() + "k2x9_q1z") == owner
    for name in ("nnlab-run-k2x9_q1z", "nnlab-run-4242-987654-a1b2c3-k2x9_q1z",
                 "nnlab-run-42a-987654-a1b2c3d4-k2x9_q1z", "worker-4242-987654-a1b2c3d4-k"):
        assert scratch.owner_of(name) is None


# The rest start real graders: torch, a fork server and confined workers, as a student's command.


@pytest.fixture
def temp(tmp_path: Path) -> Iterator[Path]:
    """The graders' temporary folder (TMPDIR); every process that used it is killed afterwards."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    yield folder
    for pid in processes_with(str(folder)):
        os.kill(pid, signal.SIGKILL)


def _wait_for(what: Callable[[], Any], limit_s: float = LIMIT_S) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting after {limit_s:g} s")


def _env(temp: Path) -> dict[str, str]:
    # This checkout's nnlab, wherever the graders start.
    path = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "TMPDIR": str(temp), "NNLAB_NO_DAEMON": "1", "PYTHONPATH": path}


def _grader(temp: Path, work: Path, slow: bool) -> subprocess.Popen[str]:
    """`nnlab check` of my_linear; `slow`: the submission sleeps as it is imported, so the
    grader waits on its worker long enough to be killed there."""
    source = SOLUTION.read_text()
    (work / "my_linear.py").write_text(source + ("\nimport time\n\ntime.sleep(120)\n" if slow else ""))
    return subprocess.Popen([sys.executable, "-m", "nnlab.cli", "check", "my_linear.py", "--seed", "1"],
                            env=_env(temp), cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _mid_run(temp: Path, grader: subprocess.Popen[str]) -> Path | None:
    """The grader's scratch folder once it holds a worker's folder (the grader is mid-run)."""
    if grader.poll() is not None:
        raise AssertionError(f"the grader ended early: {grader.communicate()}")
    for folder in temp.glob(scratch.PREFIX + "*"):
        owner = scratch.owner_of(folder.name)
        if owner is not None and owner.pid == grader.pid and any(folder.glob("worker-*")):
            return folder
    return None


@pytest.mark.slow
def test_a_killed_graders_folder_is_swept_by_the_next(temp: Path, tmp_path: Path) -> None:
    """Killed with SIGKILL mid-run, does a grader's scratch folder go at the next grader's
    start, while the folder of a live owner stays, and the next grader's own goes at its exit?"""
    work = tmp_path / "work"
    work.mkdir()
    killed = _grader(temp, work, slow=True)
    folder = _wait_for(lambda: _mid_run(temp, killed))
    killed.kill()
    killed.wait(timeout=60)
    assert folder.is_dir()  # SIGKILL leaves it: no process can clean up after that
    live = subprocess.Popen([sys.executable, "-c", "import sys; from nnlab.grader import scratch; "
                             "print(scratch.make_root(), flush=True); sys.stdin.read()"],
                            env=_env(temp), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout is not None
        live_folder = Path(live.stdout.readline().strip())
        assert live_folder.is_dir() and live_folder.parent == temp
        (work / "again").mkdir()
        after = _grader(temp, work / "again", slow=False)
        out, err = after.communicate(timeout=LIMIT_S)
        assert after.returncode == 0 and "2 of 2 passed" in out, err
        assert not folder.exists(), "the dead grader's folder was not swept"
        assert live_folder.is_dir(), "a live owner's folder was removed"
        assert list(temp.glob(scratch.PREFIX + "*")) == [live_folder]
    finally:
        live.communicate("")
    assert live_folder.is_dir()  # its owner made no promise to remove it; the next sweep will


@pytest.mark.slow
def test_sigterm_removes_the_scratch_folder_and_the_workers(temp: Path, tmp_path: Path) -> None:
    """Stopped with SIGTERM mid-run, does a grader kill its workers, remove its scratch folder,
    and still die of SIGTERM (the status its parent expects)?"""
    grader = _grader(temp, tmp_path, slow=True)
    folder = _wait_for(lambda: _mid_run(temp, grader))
    grader.send_signal(signal.SIGTERM)
    grader.communicate(timeout=120)
    assert grader.returncode == -signal.SIGTERM
    assert not folder.exists()
    # The fork server follows its grader; the workers were killed before the folder went.
    _wait_for(lambda: not processes_with(str(temp)), 60)

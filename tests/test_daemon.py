"""The warm grader: same output as grading in-process, private socket, stale daemons refused, clean exit."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from nnlab.daemon import place
from nnlab.daemon.client import FALLBACK_NOTE
from procs import processes_with, running

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "nnlab" / "solutions" / "my_linear.py"
MUTANT = ROOT / "tests" / "mutants" / "my_linear" / "weight_not_transposed.py"
BOOT_LIMIT_S = 480.0
"""A daemon imports torch and collects every check: minutes on a crowded two-core machine."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frozen() -> Iterator[Path]:
    """A copy of nnlab that nobody edits, imported by these tests' commands.

    A daemon is stale as soon as a file of its nnlab changes: on a checkout being worked
    on, the live tree would make these tests depend on others' edits.
    """
    folder = Path(tempfile.mkdtemp(prefix="nnlab-frozen-"))
    shutil.copytree(ROOT / "nnlab", folder / "nnlab", ignore=shutil.ignore_patterns("__pycache__"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Setting:
    """One test's runtime folder (short enough for a socket path) and its commands' environment."""

    runtime: Path
    frozen: Path

    def env(self, idle_s: float) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != place.OFF_SETTING}
        return {**env, "XDG_RUNTIME_DIR": str(self.runtime), place.IDLE_SETTING: str(idle_s),
                "PYTHONPATH": str(self.frozen)}


@pytest.fixture
def setting(frozen: Path) -> Iterator[Setting]:
    folder = Path(tempfile.mkdtemp(prefix="nnd", dir="/tmp"))
    try:
        yield Setting(folder, frozen)
        assert _stop_everything(folder) == [], "processes left behind"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _nnlab(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def _connect(runtime: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    try:
        conn.connect(str(runtime / "nnlab" / place.SOCKET_NAME))
        return conn
    except OSError:
        conn.close()
        return None


def _hello(runtime: Path) -> dict[str, Any] | None:
    """What the daemon listening in `runtime` says first; None when none answers."""
    conn = _connect(runtime)
    if conn is None:
        return None
    with conn:
        try:
            return place.receive_message(conn)[0]
        except (OSError, EOFError):
            return None


def _wait_for(what: Callable[[], Any], limit_s: float = BOOT_LIMIT_S) -> Any:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting after {limit_s:g} s")


def _start_daemon(env: dict[str, str]) -> dict[str, Any]:
    """The daemon up and answering; its hello. A daemon that dies booting fails the test at
    once, with what it printed."""
    runtime = Path(env["XDG_RUNTIME_DIR"])
    if _hello(runtime) is not None:
        return _hello(runtime) or {}
    printed = runtime / "daemon-stderr.txt"
    with printed.open("wb") as stderr:
        daemon = subprocess.Popen([sys.executable, "-m", "nnlab.daemon.server"], env=env, cwd="/",
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=stderr, start_new_session=True)
    answer = _wait_for(lambda: _hello(runtime) or daemon.poll() is not None)
    assert isinstance(answer, dict), f"the daemon died booting:\n{printed.read_text()[-3000:]}"
    return answer


def _ask_to_stop(runtime: Path) -> None:
    """Tells the daemon listening in `runtime`, if one is, to leave."""
    conn = _connect(runtime)
    if conn is not None:
        with conn:
            try:
                place.receive_message(conn)
                place.send_message(conn, {"op": "stop"})
            except (OSError, EOFError):
                pass


def _stop_everything(runtime: Path) -> list[int]:
    """Asks every daemon there to leave; the processes still there afterwards (then killed).

    A command that found no daemon leaves one booting, which listens only once torch and the
    checks are loaded (minutes under load): it is asked again, each second, until it has gone.
    """
    deadline = time.monotonic() + BOOT_LIMIT_S
    asked = 0.0
    while (left := processes_with(str(runtime))) and time.monotonic() < deadline:
        if time.monotonic() - asked >= 1.0:
            _ask_to_stop(runtime)
            asked = time.monotonic()
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def test_warm_check_gives_the_same_output_as_no_daemon(setting: Setting, tmp_path: Path) -> None:
    """Does a check the daemon runs print, byte for byte, what --no-daemon prints (and exit alike)?"""
    env = setting.env(600)
    served = _start_daemon(env)["served"]
    shutil.copy(MUTANT, tmp_path / "my_linear.py")
    warm = _nnlab(env, "check", "my_linear.py", "--seed", "7", cwd=tmp_path)
    assert _hello(setting.runtime)["served"] == served + 1, "the daemon did not run the check"
    here = _nnlab(env, "check", "my_linear.py", "--seed", "7", "--no-daemon", cwd=tmp_path)
    assert _hello(setting.runtime)["served"] == served + 1, "--no-daemon used the daemon"
    assert (warm.returncode, warm.stdout, warm.stderr) == (here.returncode, here.stdout, here.stderr)
    assert warm.returncode == 1 and "1 of 2 passed" in warm.stdout and "Seed: 7 " in warm.stdout


@pytest.fixture(scope="module")
def kit() -> Iterator[Path]:
    """A student kit as `nnlab release` builds it (no solutions, no hidden or timing checks, a
    kit.toml), its wheel unpacked: the nnlab these tests' commands import."""
    from nnlab.course.config import load_course
    from nnlab.course.kit import build_kit

    folder = Path(tempfile.mkdtemp(prefix="nnlab-kit-"))
    (folder / "course.toml").write_text(
        '[course]\nname = "A course"\nexercises = []\n\n[[assignment]]\nid = "hw1"\n'
        'exercises = ["my_linear"]\ndue = "2026-12-20T23:59:00+08:00"\n', encoding="utf-8")
    wheel = build_kit(load_course(folder / "course.toml"), folder / "kit", None)
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "site")
    assert (folder / "site" / "nnlab" / "kit.toml").is_file()
    yield folder / "site"
    shutil.rmtree(folder, ignore_errors=True)


def test_a_student_kit_gets_a_warm_grader(setting: Setting, kit: Path, tmp_path: Path) -> None:
    """In a student kit (public checks only), does the daemon boot and answer the next check,
    with what --no-daemon prints? (It once died collecting the hidden checks a kit lacks.)"""
    env = {**setting.env(600), "PYTHONPATH": str(kit)}
    served = _start_daemon(env)["served"]
    shutil.copy(MUTANT, tmp_path / "my_linear.py")
    warm = _nnlab(env, "check", "my_linear.py", "--seed", "7", cwd=tmp_path)
    assert _hello(setting.runtime)["served"] == served + 1, "the daemon did not run the check"
    here = _nnlab(env, "check", "my_linear.py", "--seed", "7", "--no-daemon", cwd=tmp_path)
    assert (warm.returncode, warm.stdout, warm.stderr) == (here.returncode, here.stdout, here.stderr)
    assert warm.returncode == 1 and "1 of 2 passed" in warm.stdout


def test_a_warm_check_imports_no_settings_model(setting: Setting, tmp_path: Path) -> None:
    """With the idle time set (as here) and a daemon answering, does the client hand the check
    over without importing pydantic (0.2 s of a half-second check), and still refuse a bad
    idle time in one line when no daemon answers?"""
    env = setting.env(600)
    served = _start_daemon(env)["served"]
    shutil.copy(SOLUTION, tmp_path / "my_linear.py")
    warm = subprocess.run([sys.executable, "-X", "importtime", "-m", "nnlab.cli", "check", "my_linear.py"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert _hello(setting.runtime)["served"] == served + 1, "the daemon did not run the check"
    imported = [line.rsplit("|", 1)[-1].strip() for line in warm.stderr.splitlines() if "|" in line]
    assert warm.returncode == 0 and "nnlab.daemon.client" in imported
    assert not [name for name in imported if name.startswith(("pydantic", "nnlab.settings"))]
    alone = {**env, "XDG_RUNTIME_DIR": str(tmp_path), place.IDLE_SETTING: "abc"}
    refused = _nnlab(alone, "check", "my_linear.py", cwd=tmp_path)
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.strip().startswith(f"nnlab: error: {place.IDLE_SETTING}='abc'")


def test_socket_is_the_users_alone(setting: Setting) -> None:
    """Is the daemon's socket 0600, in a 0700 folder of this user?"""
    _start_daemon(setting.env(600))
    folder = setting.runtime / "nnlab"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and folder.stat().st_uid == os.getuid()
    sock = folder / place.SOCKET_NAME
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600


class _FakeDaemon:
    """Listens where the daemon would and introduces itself as another nnlab version."""

    def __init__(self, runtime: Path) -> None:
        folder = runtime / "nnlab"
        folder.mkdir(mode=0o700)
        self.path = folder / place.SOCKET_NAME
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen()
        self.received: list[dict[str, Any]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        identity = {**place.own_identity().to_json(), "version": "0.0.0-other"}
        while True:
            conn, _ = self.listener.accept()
            with conn:
                place.send_message(conn, {"identity": identity, "pid": os.getpid(), "served": 0})
                message, fds = place.receive_message(conn, max_fds=2)
                for fd in fds:
                    os.close(fd)
                self.received.append(message)
                if message.get("op") == "run":  # taken for the grade, it would be an empty one
                    place.send_message(conn, {"started": os.getpid()})
                    place.send_message(conn, {"exit": 0})
                if message.get("op") == "stop":
                    self.path.unlink()
                    self.listener.close()
                    return


def test_a_daemon_of_another_version_is_not_used(setting: Setting, tmp_path: Path) -> None:
    """Does check grade in its own process, and tell the stale daemon to go, when the daemon
    listening is another nnlab version?"""
    fake = _FakeDaemon(setting.runtime)
    shutil.copy(SOLUTION, tmp_path / "my_linear.py")
    result = _nnlab(setting.env(1), "check", "my_linear.py", "--seed", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 of 2 passed" in result.stdout and "Seed: 3 " in result.stdout
    assert [m.get("op") for m in fake.received] == ["stop"]


def test_idle_daemon_leaves_nothing_behind(setting: Setting, tmp_path: Path) -> None:
    """Does the first check leave a daemon, and does that daemon, idle, remove its socket and
    folder and leave no process (fork server, workers) behind?"""
    runtime = setting.runtime
    shutil.copy(SOLUTION, tmp_path / "my_linear.py")
    assert _nnlab(setting.env(2), "check", "my_linear.py", cwd=tmp_path).returncode == 0
    hello = _wait_for(lambda: _hello(runtime))
    assert hello["identity"]["install"] == str(setting.frozen / "nnlab")
    _wait_for(lambda: not (runtime / "nnlab").exists() and not processes_with(str(runtime)), 120)


def test_a_daemon_killed_mid_check_leaves_the_client_to_grade(setting: Setting, tmp_path: Path) -> None:
    """Killed while it runs a check, does the daemon leave the client to grade in its own
    process, with a one-line note on stderr and no traceback?"""
    env = setting.env(600)
    hello = _start_daemon(env)
    slow = SOLUTION.read_text().replace("import torch\n", "import time\nimport torch\n", 1)
    (tmp_path / "my_linear.py").write_text(_slowed(slow))
    client = subprocess.Popen([sys.executable, "-m", "nnlab.cli", "check", "my_linear.py", "--seed", "5"],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    _wait_for(lambda: (_hello(setting.runtime) or {}).get("served", 0) > hello["served"], 120)
    os.kill(hello["pid"], signal.SIGKILL)
    out, err = client.communicate(timeout=600)
    here = _nnlab(env, "check", "my_linear.py", "--seed", "5", "--no-daemon", cwd=tmp_path)
    assert FALLBACK_NOTE in err and "Traceback" not in err
    assert (client.returncode, out) == (here.returncode, here.stdout)


def _slowed(source: str) -> str:
    """The solution with a forward that first sleeps a second: a check the test can interrupt."""
    lines = source.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("def forward("))
    indent = " " * (len(lines[at]) - len(lines[at].lstrip()) + 4)
    return "\n".join([*lines[:at + 1], f"{indent}time.sleep(1.0)", *lines[at + 1:]]) + "\n"


def test_an_edited_source_file_makes_the_daemon_stale(tmp_path: Path) -> None:
    """Does a check refuse the daemon (grade in its own process, and tell the daemon to go)
    once a source file of its nnlab is edited, as in an editable install being worked on?"""
    copy = tmp_path / "install"
    shutil.copytree(ROOT / "nnlab", copy / "nnlab", ignore=shutil.ignore_patterns("__pycache__"))
    runtime = Path(tempfile.mkdtemp(prefix="nnd", dir="/tmp"))
    try:
        edited = Setting(runtime, copy)
        hello = _start_daemon(edited.env(600))
        assert hello["identity"]["install"] == str(copy / "nnlab")
        check = copy / "nnlab" / "commands" / "check.py"
        source = check.read_text()
        at = source.index("    language = resolve_language(lang)\n")
        # Saved as an editor saves it; the edited command says so, the daemon's could not.
        check.write_text(source[:at] + '    click.echo("edited nnlab")\n' + source[at:])
        (tmp_path / "my_linear.py").write_text(SOLUTION.read_text())
        result = _nnlab(edited.env(1), "check", "my_linear.py", "--seed", "3", cwd=tmp_path)
        assert result.returncode == 0 and "2 of 2 passed" in result.stdout, result.stderr
        assert result.stdout.startswith("edited nnlab\n"), "the stale daemon ran the check"
        _wait_for(lambda: not running(hello["pid"]), 120)  # told to go, it left
        # The daemon the check left is of the edited files; idle for a second, it leaves too.
        _wait_for(lambda: not (runtime / "nnlab").exists() and not processes_with(str(runtime)))
    finally:
        _stop_everything(runtime)
        shutil.rmtree(runtime, ignore_errors=True)


def test_identity_matches_only_this_nnlab() -> None:
    """Is a daemon's hello taken as this nnlab's exactly when it is: the digest compared unless
    the daemon vouches for it by watching, everything else compared always?"""
    mine = place.own_identity().to_json()
    assert place.matches({"identity": mine}) and place.matches({"identity": mine, "watched": False})
    edited = {**mine, "code": "0" * 16}
    assert not place.matches({"identity": edited})
    assert not place.matches({"identity": edited, "watched": False})
    assert place.matches({"identity": edited, "watched": True})  # its watch saw no change
    for key, other in (("version", "0.0.0-other"), ("folder", "1:2"), ("uid", mine["uid"] + 1),
                       ("environment", "f" * 16), ("install", "/elsewhere/nnlab")):
        for watched in (True, False):
            assert not place.matches({"identity": {**mine, key: other}, "watched": watched})
    assert not place.matches({"identity": "not a dict", "watched": True}) and not place.matches({})

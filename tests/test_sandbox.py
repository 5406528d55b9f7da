"""Tests of worker confinement: a forked child confines itself, tries to escape, reports back."""
from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from procs import running

from nnlab.worker import sandbox
from nnlab.worker.sandbox import landlock, probing, process, seccomp, syscalls
from nnlab.results import Confinement
from nnlab.worker.sandbox import Limits, confine, probe

try:  # The real worker forks from a process with torch loaded; so do these tests.
    import torch
except ImportError:  # pragma: no cover - torch is a dependency, but keep the rest testable
    torch = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

NNLAB_DIR = sandbox._nnlab_dir()
CHILD_TIMEOUT_S = 120.0


def _attempt(fn: Callable[[], Any]) -> dict[str, Any]:
    """Runs one escape attempt in the child and describes how it ended, as plain data."""
    try:
        value = fn()
        plain = isinstance(value, (int, float, str, bool, type(None), list))
        return {"ok": True, "value": value if plain else repr(value)}
    except BaseException as exc:  # noqa: BLE001 - a report, not a handler
        return {"ok": False, "error": type(exc).__name__, "errno": getattr(exc, "errno", None),
                "message": str(exc)[:300]}


def run_confined(body: Callable[[], dict[str, Any]], scratch: Path, readable: list[Path] | None = None,
                 limits: Limits | None = None, before: Callable[[], None] | None = None,
                 statuses: list[int] | None = None) -> dict[str, Any]:
    """Forks, confines the child, runs `body` there and returns its JSON report.

    The child always leaves through os._exit, whatever happens; the parent gives up
    after CHILD_TIMEOUT_S and kills it. A clean exit is asserted unless `statuses`
    is given, which then receives the wait status instead.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            if before is not None:
                before()
            conf = confine(scratch, readable or [], limits or Limits(), keep_fds=(write_fd,))
            report = {"confinement": {"level": conf.level, "applied": list(conf.applied),
                                      "missing": list(conf.missing)}}
            report["checks"] = body()
            data = json.dumps(report).encode()
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:  # noqa: BLE001 - the probe child reports any failure as its exit code
            code = 3
            try:
                import traceback

                os.write(2, traceback.format_exc().encode())
            except BaseException:  # noqa: BLE001 - the traceback is best effort; exit 3 says it failed
                pass
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([read_fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                os.kill(pid, signal.SIGKILL)
                break
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    if statuses is not None:
        statuses.append(status)
        return json.loads(b"".join(chunks).decode() or "{}")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"confined child ended: status {status:#x}"
    return json.loads(b"".join(chunks).decode())


def _applied(*names: str) -> bool:
    applied = probe().applied
    return any(n in applied or any(a.startswith(n) for a in applied) for n in names)


def need(*names: str) -> None:
    """Skips when this machine offers none of the named mechanisms."""
    if not _applied(*names):
        pytest.skip(f"this machine lacks {' / '.join(names)}: {probe().describe()}")


# --- the escape attempts, all in one confined child ------------------------------------


@pytest.fixture(scope="module")
def escape(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("sandbox")
    scratch = base / "scratch"
    scratch.mkdir()
    solutions = base / "solutions"  # stands in for nnlab/solutions and hidden checks
    solutions.mkdir()
    (solutions / "my_linear.py").write_text("SECRET = 42\n")
    outside = base / "outside"
    outside.mkdir()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    parent = os.getpid()
    fd_left_open = os.open(os.devnull, os.O_RDONLY)  # must not reach the worker

    def body() -> dict[str, Any]:
        def write(path: Path, data: bytes = b"x") -> int:
            with open(path, "wb") as fh:
                return fh.write(data)

        def big_write() -> int:
            written = 0
            chunk = b"\0" * 2**20
            try:
                with open(scratch / "big.bin", "wb") as fh:
                    for _ in range(100):
                        written += fh.write(chunk)
                        fh.flush()
            except OSError as exc:
                raise OSError(exc.errno, f"{exc} after {written} bytes") from None
            return written

        def fork() -> int:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            return pid

        def scratch_roundtrip() -> str:
            (scratch / "sub").mkdir()
            write(scratch / "sub" / "a.txt", b"hello")
            os.rename(scratch / "sub" / "a.txt", scratch / "b.txt")
            return (scratch / "b.txt").read_text()

        def torch_threads() -> float:
            from concurrent.futures import ThreadPoolExecutor

            torch.set_num_threads(2)
            a = torch.randn(256, 256)
            with ThreadPoolExecutor(4) as pool:
                sums = list(pool.map(lambda _: float((a @ a).sum()), range(8)))
            return sums[0]

        def ptrace_parent() -> int:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.ptrace(16, parent, 0, 0) == -1:  # PTRACE_ATTACH
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
            libc.ptrace(17, parent, 0, 0)  # PTRACE_DETACH
            return 0

        def prctl(option: int, value: int) -> int:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(option, value, 0, 0, 0) == -1:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
            return libc.prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE

        return {
            "undumpable": _attempt(lambda: prctl(4, 0)),  # PR_SET_DUMPABLE
            "set_name": _attempt(lambda: ctypes.CDLL(None).prctl(15, b"nnlab-w", 0, 0, 0)),
            "read_solution": _attempt(lambda: (solutions / "my_linear.py").read_text()),
            "list_solutions": _attempt(lambda: os.listdir(solutions)),
            "read_nnlab": _attempt(lambda: (NNLAB_DIR / "grader" / "pipeline.py").read_text()[:10]),
            "read_nnlab_init": _attempt(lambda: (NNLAB_DIR / "__init__.py").read_text()[:10]),
            "read_parent_environ": _attempt(lambda: Path(f"/proc/{parent}/environ").read_bytes()[:10].hex()),
            "write_outside": _attempt(lambda: write(outside / "x.txt")),
            "write_tmp": _attempt(lambda: write(Path("/tmp") / f"nnlab-escape-{os.getpid()}")),
            "write_nnlab": _attempt(lambda: write(NNLAB_DIR / "pwned.py")),
            "write_scratch": _attempt(scratch_roundtrip),
            "import_json": _attempt(lambda: __import__("json").dumps({"a": 1})),
            "import_new_stdlib": _attempt(lambda: __import__("fractions").Fraction(1, 3).denominator),
            "torch_sum": _attempt(lambda: float(torch.ones(3).sum()) if torch else None),
            "torch_threads": _attempt(lambda: torch_threads() if torch else None),
            "tcp_connect": _attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close()),
            "udp_socket": _attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()),
            "kill_parent": _attempt(lambda: os.kill(parent, 0)),
            "kill_self": _attempt(lambda: os.kill(os.getpid(), 0)),
            "prlimit_parent": _attempt(lambda: resource.prlimit(parent, resource.RLIMIT_NOFILE, (8, 8))),
            "renice_user": _attempt(lambda: os.setpriority(os.PRIO_USER, 0, 19)),
            "renice_self": _attempt(lambda: os.nice(1)),
            "ptrace_parent": _attempt(ptrace_parent),
            "alloc_20g": _attempt(lambda: len(bytearray(20 * 2**30))),
            "fork": _attempt(fork),
            "subprocess": _attempt(lambda: subprocess.run(["true"], check=False).returncode),
            "write_100mb": _attempt(big_write),
            "alive_after_write": _attempt(lambda: "yes"),
            "fd_left_open": _attempt(lambda: os.fstat(fd_left_open).st_mode),
            "environ": _attempt(lambda: sorted(os.environ)),
            "home": _attempt(lambda: os.environ.get("HOME")),
        }

    try:
        report = run_confined(body, scratch)
    finally:
        listener.close()
        os.close(fd_left_open)
    report["scratch"] = str(scratch)
    report["outside"] = str(outside)
    return report


def denied(check: dict[str, Any]) -> bool:
    return not check["ok"] and check["error"] in ("PermissionError", "OSError") and check["errno"] in (
        errno.EACCES, errno.EPERM)


def test_confine_reports_what_it_applied(escape: dict[str, Any]) -> None:
    conf = escape["confinement"]
    assert conf["level"] in ("full", "partial", "none")
    assert "env-scrubbed" in conf["applied"] and "fds-closed" in conf["applied"]
    # The probe runs the same steps, so it must agree with a real confined worker.
    assert conf["applied"] == list(probe().applied)


def test_solutions_and_nnlab_are_unreadable(escape: dict[str, Any]) -> None:
    need("landlock-abi")
    checks = escape["checks"]
    for name in ("read_solution", "list_solutions", "read_nnlab", "read_nnlab_init", "read_parent_environ"):
        assert denied(checks[name]), (name, checks[name])


def test_writes_only_in_scratch(escape: dict[str, Any]) -> None:
    need("landlock-abi")
    checks = escape["checks"]
    for name in ("write_outside", "write_tmp", "write_nnlab"):
        assert denied(checks[name]), (name, checks[name])
    assert checks["write_scratch"] == {"ok": True, "value": "hello"}
    assert not list(Path(escape["outside"]).iterdir())


def test_python_and_torch_still_work(escape: dict[str, Any]) -> None:
    checks = escape["checks"]
    assert checks["import_json"] == {"ok": True, "value": '{"a": 1}'}
    assert checks["import_new_stdlib"] == {"ok": True, "value": 3}
    if torch is None:
        pytest.skip("torch is not installed")
    assert checks["torch_sum"] == {"ok": True, "value": 3.0}
    assert checks["torch_threads"]["ok"], checks["torch_threads"]


def test_no_network(escape: dict[str, Any]) -> None:
    need("userns+netns", "netns", "landlock-net", "seccomp")
    checks = escape["checks"]
    assert not checks["tcp_connect"]["ok"], checks["tcp_connect"]
    if _applied("seccomp"):
        assert denied(checks["udp_socket"]), checks["udp_socket"]


def test_cannot_signal_or_trace_the_grader(escape: dict[str, Any]) -> None:
    need("landlock-scope", "seccomp")
    checks = escape["checks"]
    assert denied(checks["kill_parent"]), checks["kill_parent"]
    assert checks["kill_self"]["ok"], checks["kill_self"]
    assert denied(checks["ptrace_parent"]), checks["ptrace_parent"]


def test_cannot_hide_its_memory_from_the_grader(escape: dict[str, Any]) -> None:
    """Is a worker refused PR_SET_DUMPABLE (which would stop the timing from reading its
    outputs), while other prctl calls still work?"""
    need("seccomp")
    checks = escape["checks"]
    assert denied(checks["undumpable"]), checks["undumpable"]
    assert checks["set_name"]["ok"] and checks["set_name"]["value"] == 0, checks["set_name"]


def test_cannot_lower_the_graders_limits_or_priority(escape: dict[str, Any]) -> None:
    need("seccomp")
    checks = escape["checks"]
    assert denied(checks["prlimit_parent"]), checks["prlimit_parent"]
    assert denied(checks["renice_user"]), checks["renice_user"]
    assert checks["renice_self"]["ok"], checks["renice_self"]


def test_memory_limit(escape: dict[str, Any]) -> None:
    need("rlimits")
    assert escape["checks"]["alloc_20g"]["error"] == "MemoryError", escape["checks"]["alloc_20g"]


def test_no_new_processes(escape: dict[str, Any]) -> None:
    need("seccomp", "nproc")
    checks = escape["checks"]
    assert not checks["fork"]["ok"], checks["fork"]
    assert not checks["subprocess"]["ok"], checks["subprocess"]


def test_file_size_limit_raises_instead_of_killing(escape: dict[str, Any]) -> None:
    need("rlimits")
    checks = escape["checks"]
    assert checks["write_100mb"]["errno"] == errno.EFBIG, checks["write_100mb"]
    assert "after 67108864 bytes" in checks["write_100mb"]["message"]
    assert checks["alive_after_write"] == {"ok": True, "value": "yes"}


def test_environment_and_fds(escape: dict[str, Any]) -> None:
    checks = escape["checks"]
    assert checks["fd_left_open"]["errno"] == errno.EBADF, checks["fd_left_open"]
    assert set(checks["environ"]["value"]) <= {"PATH", "HOME", "TMPDIR", "LANG", *process.KEPT_ENV}
    assert checks["home"]["value"] == escape["scratch"]


# --- other behaviour -------------------------------------------------------------------


def _layer_checks(port: int, parent: int) -> Callable[[], dict[str, Any]]:
    def body() -> dict[str, Any]:
        def ptrace_parent() -> int:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.ptrace(16, parent, 0, 0) == -1:  # PTRACE_ATTACH
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
            libc.ptrace(17, parent, 0, 0)  # PTRACE_DETACH: never leave the test process stopped
            return 0

        def fork() -> int:
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            return pid

        def threads() -> int:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(4) as pool:
                return sum(pool.map(lambda i: i, range(8)))

        return {
            "fork": _attempt(fork),
            "threads": _attempt(threads),
            "unshare": _attempt(lambda: process.unshare(0x40000000)),
            "tcp_connect": _attempt(lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close()),
            "kill_parent": _attempt(lambda: os.kill(parent, 0)),
            "ptrace_parent": _attempt(ptrace_parent),
            "read_nnlab": _attempt(lambda: (NNLAB_DIR / "__init__.py").read_text()[:10]),
        }

    return body


@pytest.mark.parametrize("without", ["seccomp", "landlock"])
def test_each_layer_holds_on_its_own(tmp_path: Path, without: str) -> None:
    """Defence in depth: with seccomp off, Landlock and the namespaces still deny; and vice versa."""
    need("landlock-scope")
    need("seccomp")

    def drop_layer() -> None:
        if without == "seccomp":
            seccomp.install = lambda rec, limits: False  # type: ignore[assignment]
        else:
            landlock.landlock_abi = lambda: 0  # type: ignore[assignment]

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        body = _layer_checks(server.getsockname()[1], os.getpid())
        report = run_confined(body, tmp_path, before=drop_layer)
    checks = report["checks"]
    assert not checks["tcp_connect"]["ok"], checks["tcp_connect"]  # netns either way
    assert denied(checks["kill_parent"]), checks["kill_parent"]
    assert denied(checks["ptrace_parent"]), checks["ptrace_parent"]
    if without == "seccomp":
        assert denied(checks["read_nnlab"]), checks["read_nnlab"]
    else:  # the filter alone bans processes and namespaces but not threads
        assert denied(checks["fork"]) and denied(checks["unshare"]), checks
        assert checks["threads"] == {"ok": True, "value": 28}


def test_processes_allowed_when_asked(tmp_path: Path) -> None:
    need("seccomp")
    report = run_confined(_layer_checks(1, os.getpid()), tmp_path, limits=Limits(max_processes=4))
    checks = report["checks"]
    assert checks["fork"]["ok"], checks["fork"]
    assert denied(checks["unshare"]), checks["unshare"]  # namespaces stay banned


def test_cpu_limit_stops_a_busy_loop(tmp_path: Path) -> None:
    need("rlimits")

    def spin() -> dict[str, Any]:
        while True:
            pass

    statuses: list[int] = []
    started = time.monotonic()
    run_confined(spin, tmp_path, limits=Limits(cpu_s=1), statuses=statuses)
    assert os.WIFSIGNALED(statuses[0]) and os.WTERMSIG(statuses[0]) in (signal.SIGXCPU, signal.SIGKILL)
    assert time.monotonic() - started < 30


def test_readable_paths_are_readable(tmp_path: Path) -> None:
    need("landlock-abi")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    submission = tmp_path / "student" / "my_linear.py"
    submission.parent.mkdir()
    submission.write_text("ANSWER = 1\n")
    neighbour = tmp_path / "student" / "other.py"
    neighbour.write_text("OTHER = 2\n")

    report = run_confined(lambda: {
        "submission": _attempt(submission.read_text),
        "neighbour": _attempt(neighbour.read_text),
        "overwrite": _attempt(lambda: submission.write_text("x")),
    }, scratch, readable=[submission])
    checks = report["checks"]
    assert checks["submission"] == {"ok": True, "value": "ANSWER = 1\n"}
    assert denied(checks["neighbour"]) and denied(checks["overwrite"])


@pytest.mark.parametrize("machine", ["no-landlock-no-namespaces", "no-linux-features"])
def test_missing_features_degrade_without_crashing(tmp_path: Path, machine: str) -> None:
    def cripple() -> None:
        # Only in the child: pretend to be a machine that lacks the features.
        if machine == "no-linux-features":  # roughly a macOS laptop
            syscalls.LINUX = False  # type: ignore[misc]
            syscalls.X86_64 = syscalls.AARCH64 = False  # type: ignore[misc]
            syscalls.libc.cache_clear()
            return
        landlock.landlock_abi = lambda: 0  # type: ignore[assignment]

        def no_unshare(flags: int) -> None:
            raise OSError(errno.EPERM, "unshare not allowed here")

        process.unshare = no_unshare  # type: ignore[assignment]

    report = run_confined(lambda: {"alive": _attempt(lambda: 1)}, tmp_path, before=cripple)
    conf = report["confinement"]
    assert conf["level"] == "partial"
    assert "landlock" in conf["missing"] and "netns" in conf["missing"]
    assert "rlimits" in conf["applied"]
    if machine == "no-linux-features":
        assert {"seccomp", "no_new_privs"} <= set(conf["missing"])
    assert report["checks"]["alive"] == {"ok": True, "value": 1}


def test_probe_leaves_the_caller_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probing, "_PROBE_CACHE", None)  # measure afresh, not from the cache
    status_file = Path("/proc/self/status")
    limits = [resource.getrlimit(getattr(resource, name)) for name in
              ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")]
    xfsz = signal.getsignal(signal.SIGXFSZ)
    fds = sorted(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else []
    before = (os.getpid(), os.getsid(0), os.getpgid(0), dict(os.environ),
              status_file.read_text() if status_file.exists() else "")
    conf = probe()
    assert isinstance(conf, Confinement)
    assert conf.level in ("full", "partial", "none")
    assert probe() is conf  # cached
    status = status_file.read_text() if status_file.exists() else ""
    assert (os.getpid(), os.getsid(0), os.getpgid(0), dict(os.environ)) == before[:4]
    assert [resource.getrlimit(getattr(resource, name)) for name in
            ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE")] == limits
    assert signal.getsignal(signal.SIGXFSZ) == xfsz
    if fds:
        assert sorted(os.listdir("/proc/self/fd")) == fds  # the probe's pipe is closed again
    for field in ("NoNewPrivs", "Seccomp", "CapEff"):
        assert [ln for ln in status.splitlines() if ln.startswith(field)] == \
            [ln for ln in before[4].splitlines() if ln.startswith(field)]
    # Network, files and signals still work here.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        socket.create_connection(server.getsockname(), timeout=2).close()
    assert NNLAB_DIR.joinpath("__init__.py").read_text()
    os.kill(os.getpid(), 0)


def test_probe_on_this_machine_is_full() -> None:
    """On the development machine (Linux 6.18, Landlock ABI 7) everything applies."""
    conf = probe()
    if not sys.platform.startswith("linux") or sandbox.landlock_abi() < 6:
        pytest.skip(f"not the reference machine: {conf.describe()}")
    assert conf.level == "full", conf.describe()


def test_nnlab_inside_a_readable_tree_stays_hidden(tmp_path: Path) -> None:
    """An installed nnlab sits inside site-packages, which the worker must read."""
    need("landlock-abi")
    site_packages = tmp_path / "site-packages"
    (site_packages / "nnlab" / "solutions").mkdir(parents=True)
    (site_packages / "nnlab" / "solutions" / "my_linear.py").write_text("SECRET = 1\n")
    (site_packages / "nnlab" / "__init__.py").write_text("")
    (site_packages / "nnlab-0.1.0.dist-info").mkdir()
    (site_packages / "nnlab-0.1.0.dist-info" / "RECORD").write_text("nnlab/solutions/my_linear.py\n")
    (site_packages / "otherpkg").mkdir()
    (site_packages / "otherpkg" / "__init__.py").write_text("VALUE = 7\n")
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    def pretend_installed() -> None:
        landlock.nnlab_dir = lambda: site_packages / "nnlab"  # type: ignore[assignment]

    report = run_confined(lambda: {
        "other": _attempt((site_packages / "otherpkg" / "__init__.py").read_text),
        "listing": _attempt(lambda: sorted(os.listdir(site_packages))),
        "solution": _attempt((site_packages / "nnlab" / "solutions" / "my_linear.py").read_text),
        "init": _attempt((site_packages / "nnlab" / "__init__.py").read_text),
        "record": _attempt((site_packages / "nnlab-0.1.0.dist-info" / "RECORD").read_text),
    }, scratch, readable=[site_packages], before=pretend_installed)
    checks = report["checks"]
    assert checks["other"] == {"ok": True, "value": "VALUE = 7\n"}
    assert checks["listing"]["ok"]  # the import system lists site-packages
    for name in ("solution", "init", "record"):
        assert denied(checks[name]), (name, checks[name])


def test_nnlab_is_carved_out_of_its_site_packages(tmp_path: Path) -> None:
    site_packages = tmp_path / "lib" / "python3.11" / "site-packages"
    for name in ("nnlab/solutions", "torch", "nnlab-0.1.0.dist-info"):
        (site_packages / name).mkdir(parents=True)
    (site_packages / "six.py").write_text("")
    (tmp_path / "lib" / "python3.11" / "os.py").write_text("")
    full, listing = landlock.split_around(tmp_path, [site_packages / "nnlab"])
    names = {p.relative_to(tmp_path).as_posix() for p in full}
    assert names == {"lib/python3.11/os.py", "lib/python3.11/site-packages/six.py",
                     "lib/python3.11/site-packages/torch"}
    assert {p.relative_to(tmp_path).as_posix() for p in listing} == {
        ".", "lib", "lib/python3.11", "lib/python3.11/site-packages"}
    assert landlock.split_around(site_packages / "torch", [site_packages / "nnlab"]) == (
        [site_packages / "torch"], [])
    assert landlock.split_around(site_packages / "nnlab", [site_packages / "nnlab"]) == ([], [])


def test_limits_defaults() -> None:
    limits = Limits()
    assert (limits.cpu_s, limits.memory_bytes, limits.file_size_bytes, limits.open_files,
            limits.max_processes) == (60, 6 * 2**30, 64 * 2**20, 256, 0)


def test_gpu_rules_open_nvidia_devices_for_ioctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With `gpu`, are the NVIDIA device files granted read, write and ioctl (and only then)?"""
    devices = [tmp_path / "nvidiactl", tmp_path / "nvidia0"]
    for dev in devices:
        dev.write_bytes(b"")
    monkeypatch.setattr(landlock, "nvidia_devices", lambda: [str(d) for d in devices])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with_gpu = dict(landlock.landlock_rules(scratch, [], gpu=True))
    without = dict(landlock.landlock_rules(scratch, [], gpu=False))
    for dev in devices:
        rights = with_gpu[dev.resolve()]
        assert rights & landlock.FS_IOCTL_DEV and rights & landlock.FS_WRITE_FILE, dev
        assert dev.resolve() not in without


def test_gpu_worker_memory_is_still_limited(tmp_path: Path) -> None:
    """Does a worker confined for the GPU (RLIMIT_DATA, not RLIMIT_AS) still get MemoryError
    for a 20 GB allocation, and still run torch?"""
    need("rlimits")

    def body() -> dict[str, Any]:
        return {"alloc_20g": _attempt(lambda: len(bytearray(20 * 2**30))),
                "torch_sum": _attempt(lambda: float(torch.ones(3).sum()) if torch else 3.0),
                "data_limit": resource.getrlimit(resource.RLIMIT_DATA)[0]}

    report = run_confined(body, tmp_path, limits=Limits(gpu=True))
    checks = report["checks"]
    assert checks["alloc_20g"]["error"] == "MemoryError", checks["alloc_20g"]
    assert checks["torch_sum"] == {"ok": True, "value": 3.0}, checks["torch_sum"]
    assert checks["data_limit"] == Limits().memory_bytes


_BUSY_WORKER = """
import threading, time
from nnlab.grader.launcher import WorkerLauncher
from nnlab.grader.session import WorkerSession
session = WorkerSession(WorkerLauncher(), "def spin():\\n    while True:\\n        pass\\n",
                        "spin.py", [], [], 600)
spin = session.root.spin
threading.Thread(target=spin, daemon=True).start()
time.sleep(0.5)
print(session.process.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_busy_worker_dies_with_a_killed_grader(tmp_path: Path) -> None:
    """When the grader is killed outright (no clean-up runs), does its busy worker die too,
    instead of spinning on as an orphan?"""
    grader = subprocess.Popen([sys.executable, "-c", _BUSY_WORKER], stdout=subprocess.PIPE,
                              text=True, cwd=tmp_path)
    try:
        worker = int(grader.stdout.readline())
        assert Path(f"/proc/{worker}").exists()
    finally:
        grader.kill()
        grader.wait()
    # The fork server sees its grader gone and exits; the worker's parent-death signal follows.
    deadline = time.monotonic() + 30
    while running(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    survived = running(worker)
    if survived:  # leave no spinning orphan behind, even when failing
        os.kill(worker, signal.SIGKILL)
    assert not survived, "the worker outlived its grader"


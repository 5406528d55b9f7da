"""Where the warm grader listens, who it is (version, install, environment) and its message framing."""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

import nnlab
from nnlab import __version__

SOCKET_NAME = "grader.sock"
OFF_SETTING = "NNLAB_NO_DAEMON"
"""Set to 1 (or anything but 0/empty): every command grades in its own process."""
IDLE_SETTING = "NNLAB_DAEMON_IDLE_S"
MAX_MESSAGE = 4 << 20
_PATH_LIMIT = 100
"""sun_path holds 108 bytes; a longer runtime folder means no daemon, not an error."""
_HEADER = struct.Struct("!I")

# Read when torch, the C libraries or the interpreter start, so a daemon started under other
# values would grade differently: a client whose values differ never uses it. Settings read
# at call time (NNLAB_LANG, TMPDIR, ...) travel with each request instead.
# NNLAB_COURSE too: the daemon's workers are confined when its fork server starts, hiding
# the course in force then, so another course gets its own daemon.
_STARTUP_PREFIXES = ("PYTHON", "LD_", "OMP_", "MKL_", "KMP_", "OPENBLAS_", "GOMP_", "CUDA_",
                     "NVIDIA_", "TORCH", "PYTORCH_", "LANG", "LC_", "NNLAB_COURSE")

_wanted = False
"""Set by the `nnlab` program for check and submit without --no-daemon. Never in-process
callers (a notebook, click's test runner): their output is not the terminal's stdout."""
_serving = False
"""True in a request the daemon runs: it grades there and then, never through a daemon."""


def want_daemon(wanted: bool) -> None:
    global _wanted
    _wanted = wanted


def mark_serving() -> None:
    global _serving
    _serving = True


def daemon_allowed() -> bool:
    """Whether this command may use (and leave) a warm grader: wanted, not opted out, not inside one."""
    if not _wanted or _serving or not sys.platform.startswith("linux"):
        return False
    if not os.environ.get(OFF_SETTING, "").strip():
        return True  # unset: the default, without importing pydantic (0.2 s) on a warm command's path
    from nnlab.settings import read_settings

    return not read_settings("no_daemon").no_daemon


def check_idle_setting() -> None:
    """Refuses a bad idle time in one line (NnlabError) before a command that found no daemon
    grades and leaves one: the daemon, started in the background, could only die of it unseen.

    A warm command never reads it: the daemon answering keeps the idle time it started with.
    """
    if os.environ.get(IDLE_SETTING, "").strip():  # set at all? (then read_settings)
        idle_seconds()


def idle_seconds() -> float:
    from nnlab.settings import read_settings

    return max(0.1, read_settings("daemon_idle_s").daemon_idle_s)


@dataclass(frozen=True)
class Identity:
    """What a client and its daemon must share for the daemon's grade to be the client's own."""

    version: str
    install: str
    """The folder nnlab is imported from."""
    folder: str
    """That folder's device and inode: the same path in another mount namespace is another folder."""
    python: str
    torch: str
    """Where torch would be imported from (found without importing it)."""
    environment: str
    """A digest of the environment variables read at start-up (threads, libraries, locale)."""
    code: str
    """A digest of nnlab's own files (names, sizes, times): an edited checkout is another nnlab."""
    uid: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _torch_origin() -> str:
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return ""
    return str(spec.origin) if spec is not None else ""


CODE_SUFFIXES = (".py", ".toml", ".ini", ".md")
"""The files of nnlab's own folder that make up its code digest (the bytecode cache aside)."""


def _code_digest(folder: str) -> str:
    """Stats (path, size, mtime), not contents: 465 files in 3 ms at best here, tens of ms
    on a loaded two-core machine (the daemon's watch spares a client the walk: see matches)."""
    rows = []
    folders = [folder]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                elif entry.name.endswith(CODE_SUFFIXES):
                    info = entry.stat()
                    rows.append(f"{entry.path}:{info.st_size}:{info.st_mtime_ns}\n")
    rows.sort()
    return hashlib.sha256("".join(rows).encode()).hexdigest()[:16]


def install_folder() -> str:
    """The folder nnlab is imported from."""
    return str(Path(nnlab.__file__).resolve().parent)


def own_identity(digest: bool = True) -> Identity:
    """This process's identity; without `digest`, its code field is left empty (see matches)."""
    startup = sorted((k, v) for k, v in os.environ.items() if k.startswith(_STARTUP_PREFIXES))
    environment = hashlib.sha256(json.dumps(startup).encode()).hexdigest()[:16]
    install = install_folder()
    info = os.stat(install)
    return Identity(__version__, install, f"{info.st_dev}:{info.st_ino}", sys.executable,
                    _torch_origin(), environment, _code_digest(install) if digest else "", os.getuid())


def matches(hello: dict[str, Any]) -> bool:
    """Whether the daemon that said `hello` is this very nnlab, so that its grade is ours."""
    theirs = hello.get("identity")
    if not isinstance(theirs, dict):
        return False
    if hello.get("watched") is True:
        # The daemon has watched every digested file and folder since before it took its
        # digest (inotify, on a local file system) and seen no change: its digest is the one
        # this process would compute now, so the walk is not repeated here. The rest, the
        # install folder's device and inode included (another mount namespace's files under
        # the same path), is still compared.
        return theirs == {**own_identity(digest=False).to_json(), "code": theirs.get("code")}
    return bool(theirs == own_identity().to_json())


def runtime_folder() -> Path:
    """$XDG_RUNTIME_DIR/nnlab, else a folder of this user's own in the temporary folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "nnlab"
    return Path(tempfile.gettempdir()) / f"nnlab-daemon-{os.getuid()}"


def socket_path() -> Path:
    return runtime_folder() / SOCKET_NAME


def usable_folder(create: bool) -> Path | None:
    """The runtime folder, made 0700 when `create`; None unless it is this user's alone.

    A folder another user made (or a link to one) could hold a socket they listen on.
    """
    folder = runtime_folder()
    if len(str(folder / SOCKET_NAME)) > _PATH_LIMIT:
        return None
    if create:
        with contextlib.suppress(FileExistsError, FileNotFoundError):
            os.mkdir(folder, 0o700)
    try:
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[bool]:
    """Holds an exclusive lock on the runtime folder itself (no lock file to leave behind).

    Yields False when the folder was removed meanwhile (a daemon leaving): the caller retries.
    """
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield os.fstat(fd).st_nlink > 0
    finally:
        os.close(fd)


def peer_uid(conn: socket.socket) -> int:
    """The user id of the process at the other end of a Unix socket (SO_PEERCRED)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def send_message(conn: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    body = json.dumps(message).encode()
    data = _HEADER.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(conn, [data], fds)
        data = data[sent:]
    if data:
        conn.sendall(data)


def receive_message(conn: socket.socket, max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One framed message (and the descriptors sent with it); EOFError when the peer is gone."""
    fds: list[int] = []
    if max_fds:
        head, fds, _flags, _addr = socket.recv_fds(conn, _HEADER.size, max_fds)
    else:
        head = conn.recv(_HEADER.size)
    head += _read_exactly(conn, _HEADER.size - len(head)) if head else b""
    if len(head) < _HEADER.size:
        for fd in fds:
            os.close(fd)
        raise EOFError("the other end closed the connection")
    (size,) = _HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise EOFError("oversized message")
    message = json.loads(_read_exactly(conn, size))
    if not isinstance(message, dict):
        raise EOFError("malformed message")
    return message, fds


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        chunk = conn.recv(min(left, 1 << 16))
        if not chunk:
            raise EOFError("the other end closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)

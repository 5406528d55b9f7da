"""The grader's side of one worker: requests with deadlines, and proxies to remote objects."""
from __future__ import annotations

import os
import signal
import stat
import time
from typing import Any

import torch

from nnlab.errors import (BannedApiUsed, LoadTimeout, LoopedAgain, ProtocolViolation,
                          StudentCodeError, WorkerCrashed, WorkerTimeout)
from nnlab.wire import codec
from nnlab.wire.looping import (GRACE_S, STACK_FILE, STACK_LIMIT, LoopSite, parse_stack,
                                site_to_wire)
from nnlab.grader.exercise import Exercise
from nnlab.grader.launcher import WorkerLauncher, WorkerProcess

_REPLY_LIMIT = codec.MAX_MESSAGE_BYTES
STARTUP_LIMIT_S = 30.0


class Remote:
    """A proxy for an object in the worker: attributes and calls become requests."""

    __slots__ = ("_session", "_handle", "_label")

    def __init__(self, session: WorkerSession, handle: codec.Handle, label: str) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._session.get(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("remote objects are read-only; use load_state_dict or a method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote {self._handle.type_name} {self._label}>"


def remote_label(obj: Remote) -> str:
    """What a remote object is called in messages ("MyLinear(3, 4)", "layer.weight")."""
    return obj._label


def remote_session(obj: Remote) -> WorkerSession:
    """The session of the worker that holds `obj`."""
    return obj._session


def handle_of(obj: Remote) -> codec.Handle:
    """The worker's handle for `obj` (how it travels back to that worker)."""
    return obj._handle


def _short_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    def one(a: Any) -> str:
        if isinstance(a, torch.Tensor):
            return f"<{tuple(a.shape)} tensor>"
        if isinstance(a, (Remote, codec.Handle)):  # a worker object passed back to it
            return f"<{handle_of(a).type_name if isinstance(a, Remote) else a.type_name}>"
        text = repr(a)
        return text if len(text) < 30 else text[:27] + "..."
    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) < 80 else text[:77] + "..."


class WorkerSession:
    """One fresh worker with the submission loaded; every request has a deadline."""

    def __init__(self, launcher: WorkerLauncher, source: str, filename: str,
                 banned: list[str], banned_ops: list[str], time_limit_s: float,
                 seed: int = 0, looped: tuple[LoopSite, ...] = ()) -> None:
        self.time_limit_s = time_limit_s
        self.filename = filename
        # The check's clock starts once the worker is up: a cold fork server (torch being
        # imported) must not eat the student's time.
        self.process: WorkerProcess | None = launcher.start()
        self.deadline = time.monotonic() + max(time_limit_s, STARTUP_LIMIT_S)
        self.confinement: dict[str, Any] = {}
        try:
            hello = self._exchange(None, "starting the worker")
            self.deadline = time.monotonic() + time_limit_s
            self.confinement = hello.get("hello", {}) if isinstance(hello, dict) else {}
            self.root = Remote(self, codec.Handle(0, "module"), filename.removesuffix(".py"))
            # Code that ran out of time in an earlier check of this exercise gets a short grace.
            guard = {"looped": [site_to_wire(site) for site in looped]} if looped else {}
            try:
                self.request("load", "loading your file", source=source, filename=filename,
                             banned=banned, banned_ops=banned_ops, seed=seed, **guard)
            except WorkerTimeout as exc:
                raise LoadTimeout(str(exc)) from None
        except BaseException:
            # Nobody else holds this session yet: a file that fails to load must not leave
            # its worker or scratch folder behind.
            self.close()
            raise

    @classmethod
    def for_exercise(cls, launcher: WorkerLauncher, exercise: Exercise, source: str,
                     filename: str, seed: int, time_limit_s: float | None = None,
                     looped: tuple[LoopSite, ...] = ()) -> WorkerSession:
        """A fresh worker with the submission loaded, under the exercise's bans and time limit
        (or `time_limit_s`); the code that `looped` in earlier checks gets a short grace."""
        limit = exercise.check_seconds if time_limit_s is None else time_limit_s
        return cls(launcher, source, filename, list(exercise.banned), list(exercise.banned_ops),
                   limit, seed=seed, looped=looped)

    # -- transport -------------------------------------------------------------------
    def _exchange(self, payload: bytes | None, doing: str) -> Any:
        if self.process is None:
            raise WorkerCrashed(f"the worker is gone (while {doing})")
        conn = self.process.conn
        try:
            if payload is not None:
                conn.send_bytes(payload)
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not conn.poll(remaining):
                site = self._loop_site()
                self.close()
                where = f"; your code was at {site.describe()}" if site else ""
                raise WorkerTimeout(
                    f"no answer within the {self.time_limit_s:g} s limit while {doing} "
                    f"(an endless loop, or far too slow?){where}", loop_site=site)
            message = conn.recv_bytes(_REPLY_LIMIT)
        except (EOFError, BrokenPipeError, ConnectionResetError) as exc:
            how = self.process.describe_exit()
            self.close()
            raise WorkerCrashed(f"the worker running your code {how} while {doing}") from exc
        except OSError as exc:
            self.close()
            raise ProtocolViolation(f"the worker sent an oversized reply while {doing}") from exc
        return codec.decode(message, resolve=self._remote_for(doing))

    def _loop_site(self, wait_s: float = 1.0, settled_s: float = 0.2) -> LoopSite | None:
        """Where the worker that ran out of time is: it dumps its stacks on SIGUSR1.

        Waits until the dump shows a line of the submission, or has not grown for
        `settled_s` (a busy machine can pause the writer between lines), at most `wait_s`.
        """
        process = self.process
        if process is None or not hasattr(signal, "SIGUSR1"):
            return None
        try:
            os.kill(process.pid, signal.SIGUSR1)
        except OSError:
            return None
        path = str(process.scratch / STACK_FILE)
        now = time.monotonic()
        deadline, settled_at, size = now + wait_s, now + settled_s, 0
        while True:
            time.sleep(0.01)
            text = _read_plain_file(path, STACK_LIMIT)
            site = parse_stack(text, self.filename)
            now = time.monotonic()
            if site is not None or now >= deadline or (text and now >= settled_at):
                return site
            if len(text) != size:
                size, settled_at = len(text), now + settled_s

    def _remote_for(self, label: str) -> Any:
        def resolve(handle: codec.Handle) -> Remote:
            return Remote(self, handle, label)
        return resolve

    def request(self, op: str, doing: str, label: str | None = None, **fields: Any) -> Any:
        """Sends one operation; returns its value or raises the matching WorkerFault."""
        payload = codec.encode({"op": op, **fields}, handle_for=_handle_of)
        reply = self._exchange(payload, doing)
        if not isinstance(reply, dict):
            raise ProtocolViolation("the worker sent a malformed reply")
        banned = reply.get("banned") or []
        if banned:
            names = ", ".join(str(b) for b in banned)
            raise BannedApiUsed(f"{doing}: your code called {names}, which this exercise bans")
        if "error" in reply:
            raise _student_error(reply["error"], doing)
        if "ok" not in reply:
            raise ProtocolViolation("the worker sent a malformed reply")
        value = reply["ok"]
        if label is not None:
            value = _relabel(value, label)
        return value

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None

    # -- operations ------------------------------------------------------------------
    def get(self, target: Remote, name: str) -> Any:
        label = name if target._handle.id == 0 else f"{target._label}.{name}"
        return self.request("get", f"reading {label}", label=label,
                            target=target._handle, name=name)

    def call(self, target: Remote, args: tuple[Any, ...], kwargs: dict[str, Any],
             traced: bool = True, names: tuple[str, ...] = ()) -> Any:
        label = f"{target._label}({_short_args(args, kwargs)})"
        extra = {"names": [str(n) for n in names]} if names else {}
        return self.request("call", f"running {label}", label=label, target=target._handle,
                            args=list(args), kwargs=dict(kwargs), traced=traced, **extra)

    def audited_call(self, target: Remote, args: tuple[Any, ...], kwargs: dict[str, Any],
                     names: tuple[str, ...] = ()) -> tuple[Any, list[tuple[str, str]]]:
        """Calls `target` in the worker; (its result, what the call changed in the caller's
        tensors and modules: (input label, change) pairs, read by the worker's own code)."""
        label = f"{target._label}({_short_args(args, kwargs)})"
        reply = self.request("call", f"running {label}", label=label, target=target._handle,
                             args=list(args), kwargs=dict(kwargs), audit=True,
                             names=[str(n) for n in names])
        changes = reply.get("changes") if isinstance(reply, dict) else None
        if not (isinstance(changes, list) and all(
                isinstance(c, list) and len(c) == 2 and all(isinstance(v, str) for v in c)
                for c in changes)):
            raise ProtocolViolation("the worker sent a malformed audit")
        return reply["result"], [(c[0], c[1]) for c in changes]

    def call_returning_args(self, target: Remote, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> tuple[Any, list[Any]]:
        label = f"{target._label}({_short_args(args, kwargs)})"
        reply = self.request("call", f"running {label}", label=label, target=target._handle,
                             args=list(args), kwargs=dict(kwargs), return_args=True)
        return reply["result"], reply["args"]

    def vjp(self, target: Remote, args: tuple[Any, ...], grad_outputs: list[Any],
            kwargs: dict[str, Any] | None = None, module: Remote | None = None) -> dict[str, Any]:
        label = f"{target._label}({_short_args(args, kwargs or {})})"
        return self.request("vjp", f"running forward and backward of {label}", label=label,
                            target=target._handle, args=list(args), kwargs=dict(kwargs or {}),
                            grad_outputs=list(grad_outputs),
                            module=module._handle if module is not None else None)

    def eval(self, expression: str, label: str = "helper", **bindings: Any) -> Any:
        return self.request("eval", f"preparing {label}", label=label,
                            expression=expression, bindings=bindings)

    def repr(self, target: Remote) -> str:
        text = self.request("repr", f"calling repr() on {target._label}", target=target._handle)
        if not isinstance(text, str):
            raise ProtocolViolation("repr() did not come back as text")
        return text

    def tensors(self, target: Remote, kind: str) -> dict[str, torch.Tensor]:
        value = self.request("tensors", f"reading the {kind} of {target._label}",
                             target=target._handle, kind=kind)
        if not isinstance(value, dict):
            raise ProtocolViolation(f"the {kind} did not come back as a mapping")
        return value

    # -- timing (nnlab.grader.timing) ------------------------------------------------------
    def restart_clock(self) -> None:
        """Gives the check its full time limit again, e.g. after waiting for the timing lock."""
        self.deadline = time.monotonic() + self.time_limit_s

    def store(self, tensors: list[Any], release: list[codec.Handle] | None = None) -> list[codec.Handle]:
        """Leaves tensors (codec.OnDevice for a device) in the worker; returns their handles."""
        value = self.request("store", "receiving the timing inputs", tensors=list(tensors),
                             release=list(release or []))
        if not (isinstance(value, list) and len(value) == len(tensors)
                and all(isinstance(v, Remote) for v in value)):
            raise ProtocolViolation("the worker did not keep the timing inputs")
        return [handle_of(v) for v in value]

    def time_loop(self, target: Remote, args: list[Any], kwargs: dict[str, Any], iterations: int,
                  first: int = 0, backward: bool = False, grad_output: codec.Handle | None = None,
                  threads: int = 0, digests: bool = False, traced: bool = True) -> dict[str, Any]:
        """One timed request: `iterations` calls in the worker (`nnlab.wire.timed.time_loop`).

        Returns {"threads": int, "kept": Remote, "where": list}: every call's output is
        held there; fetch some with `kept_outputs` or read them where "where" says. With
        `digests`, also "digests": per call, one `nnlab.wire.timed.digest` (two floats; None for a
        missing grad) per held tensor, and "drawn": one digest per input pool it drew.
        """
        what = "forward and backward of " if backward else ""
        value = self.request("time_loop", f"timing {what}{target._label}", target=target._handle,
                             args=list(args), kwargs=dict(kwargs), iterations=int(iterations),
                             first=int(first), backward=bool(backward), grad_output=grad_output,
                             threads=int(threads), digests=bool(digests), traced=bool(traced))
        if not (isinstance(value, dict) and isinstance(value.get("threads"), int)
                and isinstance(value.get("kept"), Remote) and isinstance(value.get("where"), list)):
            raise ProtocolViolation("the timing loop sent a malformed reply")
        if digests:
            committed = value.get("digests")
            if not (isinstance(committed, list) and len(committed) == iterations
                    and all(isinstance(call, list) and all(d is None or _is_digest(d) for d in call)
                            for call in committed)):
                raise ProtocolViolation("the timing loop did not commit to its outputs")
            drawn = value.get("drawn")
            if not (isinstance(drawn, list) and all(_is_digest(d) for d in drawn)):
                raise ProtocolViolation("the timing loop did not say which inputs it drew")
        return value

    def kept_outputs(self, kept: Remote, picks: list[int]) -> Any:
        """The output and input grads of the picked timed calls, as plain data."""
        return self.request("eval", "reading the timed outputs", expression="[kept[i] for i in picks]",
                            bindings={"kept": kept, "picks": [int(i) for i in picks]})


def _read_plain_file(path: str, limit: int) -> str:
    """At most `limit` bytes of a regular file, without following links or blocking.

    The worker can write in its scratch folder: a link or a FIFO planted there must not
    make the grader read elsewhere or wait forever.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        return os.read(fd, limit).decode("utf-8", "replace")
    except OSError:
        return ""
    finally:
        os.close(fd)


def _is_digest(value: Any) -> bool:
    """Two floats, as nnlab.wire.timed.digest gives them."""
    return isinstance(value, list) and len(value) == 2 and all(type(v) is float for v in value)


def _handle_of(obj: Any) -> codec.Handle:
    """A Remote goes back to its worker as the handle it came with; nothing else may be sent."""
    if isinstance(obj, Remote):
        return obj._handle
    raise ProtocolViolation(f"cannot send a value of type {type(obj).__name__} to the worker")


def _relabel(value: Any, label: str) -> Any:
    if isinstance(value, Remote):
        return Remote(value._session, value._handle, label)
    return value


def _student_error(info: Any, doing: str) -> Exception:
    if not isinstance(info, dict):
        return ProtocolViolation("the worker sent a malformed error")
    if info.get("missing"):
        return StudentCodeError(str(info.get("message")))
    if info.get("looped"):
        return LoopedAgain(f"{doing}: your {info.get('message')} ran out of time in an earlier check "
                           f"of this exercise, and did not return within the {GRACE_S:g} s it gets "
                           "after that")
    where = str(info.get("where") or "")
    text = f"{doing}: {info.get('type')}: {info.get('message')}"
    if where:
        text += "\n" + where.rstrip()
    error = StudentCodeError(text)
    error.mro = [str(m) for m in info.get("mro") or []]  # type: ignore[attr-defined]
    return error

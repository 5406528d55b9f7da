"""The grader's side of one worker: requests with deadlines, and proxies to remote objects."""
from __future__ import annotations

import dataclasses
import os
import signal
import stat
import time
from typing import Any, Iterable

import torch

from nnlab.errors import (BadRequest, BannedApiUsed, LoadTimeout, LoopedAgain, ProtocolViolation,
                          StudentCodeError, WorkerCrashed, WorkerTimeout)
from nnlab.wire import codec, messages
from nnlab.wire.confinement import Confinement
from nnlab.wire.looping import GRACE_S, STACK_FILE, STACK_LIMIT, LoopSite, parse_stack
from nnlab.grader.exercise import Exercise
from nnlab.grader.launcher import WorkerLauncher, WorkerProcess

_REPLY_LIMIT = codec.MAX_MESSAGE_BYTES
STARTUP_LIMIT_S = 30.0


class Remote:
    """A proxy for an object in the worker: attributes and calls become requests."""

    __slots__ = ("_session", "_handle", "_label")
    _session: WorkerSession
    _handle: codec.Handle
    _label: str

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
        # Containers of tensors part by part, not by repr: it would print every tensor's
        # values (milliseconds each, on every call) to keep 30 characters of them.
        if isinstance(a, (list, tuple)) and _holds_tensors(a):
            inner = ", ".join(one(x) for x in a[:3]) + (", ..." if len(a) > 3 else "")
            text = f"[{inner}]" if isinstance(a, list) else f"({inner}{',' if len(a) == 1 else ''})"
        elif isinstance(a, dict) and _holds_tensors(a.values()):
            text = "{" + ", ".join(f"{k!r}: {one(v)}" for k, v in list(a.items())[:3]) + "}"
        elif _holds_tensors((fields := _dataclass_fields(a)).values()):
            text = f"{type(a).__name__}(" + ", ".join(f"{k}={one(v)}" for k, v in fields.items()) + ")"
        else:
            text = repr(a)
        return text if len(text) < 30 else text[:27] + "..."
    parts = [one(a) for a in args] + [f"{k}={one(v)}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) < 80 else text[:77] + "..."


def _holds_tensors(values: Iterable[Any]) -> bool:
    return any(isinstance(v, (torch.Tensor, Remote, codec.Handle)) for v in values)


def _dataclass_fields(value: Any) -> dict[str, Any]:
    """A dataclass instance's fields by name; empty for anything else."""
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return {}
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


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
        self.confinement: Confinement | None = None
        """What the worker said it is confined by (None until it said so)."""
        try:
            hello = self._exchange(None, "starting the worker")
            if not isinstance(hello, messages.Hello):
                raise ProtocolViolation("the worker did not introduce itself")
            self.deadline = time.monotonic() + time_limit_s
            self.confinement = hello.confinement
            self.root = Remote(self, codec.Handle(0, "module"), filename.removesuffix(".py"))
            try:
                # Code that ran out of time in an earlier check of this exercise gets a short grace.
                self.request(messages.Load(source, filename, list(banned), list(banned_ops), seed,
                                           tuple(looped)), "loading your file")
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

    def request(self, request: messages.Request, doing: str) -> Any:
        """Sends one request; returns its reply record or raises the matching fault.

        A request the worker refuses is the grader's bug (BadRequest, never the student's);
        a reply of the wrong kind is the worker's (ProtocolViolation).
        """
        reply = self._exchange(codec.encode(request, handle_for=_handle_of), doing)
        if isinstance(reply, messages.Refused):
            raise BadRequest(f"the worker refused {type(request).__name__} while {doing}: "
                             f"{reply.reason}")
        if not isinstance(reply, (messages.Done, messages.Failed)):
            raise ProtocolViolation("the worker sent a malformed reply")
        if reply.banned:
            names = ", ".join(reply.banned)
            raise BannedApiUsed(f"{doing}: your code called {names}, which this exercise bans")
        if isinstance(reply, messages.Failed):
            raise _student_error(reply.error, doing)
        if not isinstance(reply.reply, request.Reply):
            raise ProtocolViolation("the worker sent a malformed reply")
        return reply.reply

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None

    # -- operations ------------------------------------------------------------------
    def get(self, target: Remote, name: str) -> Any:
        label = name if target._handle.id == 0 else f"{target._label}.{name}"
        value = self.request(messages.Get(target._handle, name), f"reading {label}").value
        return _relabel(value, label)

    def call(self, target: Remote, args: tuple[Any, ...], kwargs: dict[str, Any],
             traced: bool = True, names: tuple[str, ...] = ()) -> Any:
        label = f"{target._label}({_short_args(args, kwargs)})"
        request = messages.Call(target._handle, list(args), dict(kwargs), traced=traced,
                                names=tuple(str(n) for n in names))
        return _relabel(self.request(request, f"running {label}").result, label)

    def audited_call(self, target: Remote, args: tuple[Any, ...], kwargs: dict[str, Any],
                     names: tuple[str, ...] = ()) -> tuple[Any, list[tuple[str, str]]]:
        """Calls `target` in the worker; (its result, what the call changed in the caller's
        tensors and modules: (input label, change) pairs, read by the worker's own code)."""
        label = f"{target._label}({_short_args(args, kwargs)})"
        request = messages.Call(target._handle, list(args), dict(kwargs), audit=True,
                                names=tuple(str(n) for n in names))
        reply = self.request(request, f"running {label}")
        if reply.changes is None:
            raise ProtocolViolation("the worker sent a malformed audit")
        return reply.result, list(reply.changes)

    def call_returning_args(self, target: Remote, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> tuple[Any, list[Any]]:
        label = f"{target._label}({_short_args(args, kwargs)})"
        request = messages.Call(target._handle, list(args), dict(kwargs), return_args=True)
        reply = self.request(request, f"running {label}")
        if reply.args is None:
            raise ProtocolViolation("the worker did not send the arguments back")
        return reply.result, reply.args

    def vjp(self, target: Remote, args: tuple[Any, ...], grad_outputs: list[Any],
            kwargs: dict[str, Any] | None = None, module: Remote | None = None) -> messages.Gradients:
        """Forward and backward in the worker: its output, input grads and parameter grads."""
        label = f"{target._label}({_short_args(args, kwargs or {})})"
        request = messages.Vjp(target._handle, list(args), dict(kwargs or {}), list(grad_outputs),
                               module._handle if module is not None else None)
        gradients: messages.Gradients = self.request(request, f"running forward and backward of {label}")
        return gradients

    def eval(self, expression: str, label: str = "helper", **bindings: Any) -> Any:
        value = self.request(messages.Eval(expression, bindings), f"preparing {label}").value
        return _relabel(value, label)

    def repr(self, target: Remote) -> str:
        request = messages.Repr(target._handle)
        return str(self.request(request, f"calling repr() on {target._label}").text)

    def tensors(self, target: Remote, kind: str) -> dict[str, torch.Tensor]:
        request = messages.Tensors(target._handle, kind)
        return dict(self.request(request, f"reading the {kind} of {target._label}").tensors)

    # -- timing (nnlab.grader.timing) ------------------------------------------------------
    def restart_clock(self) -> None:
        """Gives the check its full time limit again, e.g. after waiting for the timing lock."""
        self.deadline = time.monotonic() + self.time_limit_s

    def store(self, tensors: list[Any], release: list[codec.Handle] | None = None) -> list[codec.Handle]:
        """Leaves tensors (codec.OnDevice for a device) in the worker; returns their handles."""
        stored = self.request(messages.Store(list(tensors), list(release or [])),
                              "receiving the timing inputs")
        if len(stored.handles) != len(tensors):
            raise ProtocolViolation("the worker did not keep the timing inputs")
        return [handle_of(v) for v in stored.handles]

    def time_loop(self, target: Remote, args: list[Any], kwargs: dict[str, Any], iterations: int,
                  first: int = 0, backward: bool = False, grad_output: codec.Handle | None = None,
                  threads: int = 0, digests: bool = False, traced: bool = True) -> messages.Timed:
        """One timed request: `iterations` calls in the worker (`nnlab.wire.timed.time_loop`).

        Every call's output is held there (`kept`); fetch some with `kept_outputs` or read them
        where `where` says. With `digests`, the reply's digests and drawn are checked here.
        """
        what = "forward and backward of " if backward else ""
        request = messages.TimeLoop(target._handle, list(args), dict(kwargs), int(iterations),
                                    int(first), bool(backward), grad_output, int(threads),
                                    bool(digests), bool(traced))
        timed: messages.Timed = self.request(request, f"timing {what}{target._label}")
        if digests:
            committed = timed.digests
            if not (isinstance(committed, list) and len(committed) == iterations
                    and all(isinstance(call, list) and all(d is None or _is_digest(d) for d in call)
                            for call in committed)):
                raise ProtocolViolation("the timing loop did not commit to its outputs")
            drawn = timed.drawn
            if not (isinstance(drawn, list) and all(_is_digest(d) for d in drawn)):
                raise ProtocolViolation("the timing loop did not say which inputs it drew")
        return timed

    def kept_outputs(self, kept: Remote, picks: list[int]) -> Any:
        """The output and input grads of the picked timed calls, as plain data."""
        request = messages.Eval("[kept[i] for i in picks]",
                                {"kept": kept, "picks": [int(i) for i in picks]})
        return self.request(request, "reading the timed outputs").value


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


def _student_error(info: messages.StudentFailure, doing: str) -> Exception:
    if info.missing:
        return StudentCodeError(info.message)
    if info.looped:
        return LoopedAgain(f"{doing}: your {info.message} ran out of time in an earlier check "
                           f"of this exercise, and did not return within the {GRACE_S:g} s it gets "
                           "after that")
    text = f"{doing}: {info.type}: {info.message}"
    if info.where:
        text += "\n" + info.where.rstrip()
    error = StudentCodeError(text)
    error.mro = list(info.classes)  # type: ignore[attr-defined]  # expect_raises reads it (a plain attribute)
    return error

"""The worker process: loads one submission and serves the grader's requests, confined."""
from __future__ import annotations

import io
import linecache
import math
import os
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from nnlab.wire import codec
from nnlab.wire.timed import HandleTable, LoopRequest, time_loop
from nnlab.wire.tracing import BannedTrace, DispatchTracer, FunctionTracer

MAX_TEXT = 4000
OUTPUT_CAP = 64 * 1024


@dataclass(frozen=True)
class WorkerConfig:
    """What the grader passes to a new worker (pickled to the trusted fork server only)."""

    scratch: str
    """The worker's own folder, the only one it may write to."""
    limits: Any = None
    """A sandbox.Limits, or None to skip confinement (tests of the protocol alone)."""


class _CappedText(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: keeps the first bytes, counts and drops the rest."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:  # type: ignore[override]
        text = str(text)
        if self.size < OUTPUT_CAP:
            self.kept.append(text[: OUTPUT_CAP - self.size])
        self.size += len(text)
        return len(text)

    def writable(self) -> bool:
        return True


class Worker(HandleTable):
    """Holds the submission module and the objects the grader refers to by handle."""

    def __init__(self) -> None:
        super().__init__()
        self.module: types.ModuleType | None = None
        self.filename = "submission.py"
        self.trace = BannedTrace()
        self.output = _CappedText()

    def resolve(self, handle: codec.Handle) -> Any:
        if handle.id == 0:
            return self.module
        if handle.id not in self.objects:
            raise LookupError(f"unknown handle {handle.id}")
        return self.objects[handle.id]

    # -- running student code -------------------------------------------------------
    def student(self, fn: Callable[[], Any], traced: bool = True) -> Any:
        if not (traced and self.trace.active):
            return fn()
        with FunctionTracer(self.trace), DispatchTracer(self.trace):
            return fn()

    def op_load(self, source: str, filename: str, banned: list[str], banned_ops: list[str],
                seed: int = 0) -> Any:
        self.filename = filename
        torch.manual_seed(seed)
        self.trace.configure(banned, banned_ops)
        module = types.ModuleType("submission")
        module.__file__ = filename
        # Registered so tracebacks show the student's own lines.
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        code = compile(source, filename, "exec")
        sys.modules["submission"] = module
        self.module = module
        self.student(lambda: exec(code, module.__dict__))
        return sorted(k for k in module.__dict__ if not k.startswith("__"))

    def op_get(self, target: Any, name: str) -> Any:
        if target is self.module and name not in self.module.__dict__:
            raise _Missing(f"the submission does not define `{name}`")
        return self.student(lambda: getattr(target, name))

    def op_call(self, target: Any, args: list[Any], kwargs: dict[str, Any],
                return_args: bool = False, traced: bool = True) -> Any:
        result = self.student(lambda: target(*args, **kwargs), traced)
        if return_args:
            return {"result": result, "args": list(args)}
        return result

    def op_vjp(self, target: Any, args: list[Any], kwargs: dict[str, Any],
               grad_outputs: list[Any], module: Any = None) -> Any:
        leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
        params = list(module.named_parameters()) if isinstance(module, torch.nn.Module) else []
        for _, param in params:
            param.grad = None

        def run() -> Any:
            with torch.enable_grad():
                output = target(*args, **kwargs)
            outputs = list(output) if isinstance(output, (tuple, list)) else [output]
            pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                     if g is not None and isinstance(o, torch.Tensor) and o.requires_grad]
            if pairs:
                torch.autograd.backward([o for o, _ in pairs], [g.to(o.device) for o, g in pairs])
            return output

        output = self.student(run)
        return {
            "output": output,
            "input_grads": [leaf.grad for leaf in leaves],
            "param_grads": {name: p.grad for name, p in params},
        }

    def op_eval(self, expression: str, bindings: dict[str, Any]) -> Any:
        namespace = {"torch": torch, "nn": torch.nn, "F": F, "math": math,
                     "submission": self.module, **bindings}
        return self.student(lambda: eval(expression, namespace))  # trusted: sent by the grader

    def op_repr(self, target: Any) -> str:
        return str(self.student(lambda: repr(target)))[:MAX_TEXT]

    def op_tensors(self, target: Any, kind: str) -> dict[str, Any]:
        if not isinstance(target, torch.nn.Module):
            raise TypeError(f"expected an nn.Module, got {type(target).__name__}")
        if kind == "parameters":
            return dict(self.student(lambda: list(target.named_parameters())))
        if kind == "buffers":
            return dict(self.student(lambda: list(target.named_buffers())))
        if kind == "grads":
            return {n: p.grad for n, p in target.named_parameters()}
        raise ValueError(f"unknown tensor kind {kind}")

    def dispatch(self, request: dict[str, Any]) -> Any:
        op = request.pop("op")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            raise LookupError(f"unknown operation {op}")
        return handler(**request)

    # -- timing (the grader's timing checks) -----------------------------------------------------
    def op_store(self, tensors: list[Any], release: list[Any] | None = None) -> list[codec.Handle]:
        """Keeps grader-made tensors (a timing pool) here; returns their handles.

        `release` drops earlier pools so a long measurement does not pile up memory.
        """
        for old in release or ():
            hid = self.by_identity.get(id(old))
            if hid is not None and self.objects.get(hid) is old:
                self.objects[hid] = None
        handles = []
        for tensor in tensors:
            if type(tensor) is not torch.Tensor:
                raise TypeError("only tensors can be stored for timing")
            handles.append(self.handle_for(tensor))
        return handles

    def op_time_loop(self, target: Any, args: list[Any], kwargs: dict[str, Any], iterations: int,
                     first: int = 0, backward: bool = False, grad_output: Any = None,
                     threads: int = 0, digests: bool = False,
                     traced: bool = False) -> dict[str, Any]:
        """The timed loop (`nnlab.wire.timed.time_loop`), on the student's code."""
        return time_loop(self, self.trace, target, LoopRequest(
            args, kwargs, iterations, first, backward, grad_output, threads, digests, traced))

class _Missing(Exception):
    """The grader asked for a name the submission does not define."""


def describe_exception(exc: BaseException, filename: str) -> dict[str, Any]:
    """Type, message and the student's own frames; safe against hostile __str__."""
    try:
        message = str(exc)[:MAX_TEXT]
    except BaseException:  # noqa: BLE001 - a student's __str__ may raise anything
        message = "<the exception's message could not be printed>"
    mro = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    where = "".join(
        f"  {filename}, line {f.lineno}, in {f.name}\n    {(f.line or '').strip()}\n"
        for f in frames[-6:]
    )
    return {"type": type(exc).__name__, "mro": mro, "message": message,
            "where": where[:MAX_TEXT], "missing": isinstance(exc, _Missing)}


def _redirect_output(worker: Worker, scratch: str) -> None:
    # Output at the fd level goes to a scratch file (capped by RLIMIT_FSIZE); Python-level
    # output goes to a capped buffer. Nothing a student prints reaches the grader's stdout.
    fd = os.open(os.path.join(scratch, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = worker.output  # type: ignore[assignment]
    sys.stderr = worker.output  # type: ignore[assignment]


def serve(conn: Any, config: WorkerConfig) -> None:
    """Entry point in the forked child: confine, then answer requests until the pipe closes."""
    worker = Worker()
    _redirect_output(worker, config.scratch)
    confinement: dict[str, Any] = {"level": "none", "applied": [], "missing": []}
    if config.limits is not None:
        from nnlab.worker import sandbox

        # Nothing beyond the runtime is readable: the submission arrives as text.
        applied = sandbox.confine(Path(config.scratch), [], config.limits, keep_fds=[conn.fileno()])
        confinement = {"level": applied.level, "applied": list(applied.applied),
                       "missing": list(applied.missing)}
    conn.send_bytes(codec.encode({"hello": confinement, "pid": os.getpid()}))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            break
        worker.trace.seen.clear()
        try:
            request = codec.decode(message, resolve=worker.resolve)
            value = worker.dispatch(request)
            reply = codec.encode({"ok": value, "banned": list(worker.trace.seen)},
                                 handle_for=worker.handle_for)
        except BaseException as exc:  # noqa: BLE001 - sys.exit() too is a student failure, not ours
            reply = codec.encode({"error": describe_exception(exc, worker.filename),
                                  "banned": list(worker.trace.seen)})
        conn.send_bytes(reply)
    os._exit(0)


def warm_up() -> None:
    """Pays torch's lazy imports once in the fork server instead of in every worker.

    The first TorchDispatchMode imports torch._dynamo (about 5 s here); the grader
    process itself never needs it, so this runs only from nnlab.worker.preload.
    """
    trace = BannedTrace()
    trace.configure(["torch.sigmoid"], ["aten::sigmoid"])
    layer = torch.nn.Linear(2, 2)
    x = torch.ones(3, 2, requires_grad=True)
    with FunctionTracer(trace), DispatchTracer(trace):
        y = F.relu(layer(x)).sigmoid().sum()
        torch.autograd.backward([y], [torch.ones(())])
    codec.decode(codec.encode({"t": torch.ones(2), "x": [1.5, float("nan")]}))


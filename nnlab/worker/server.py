"""The worker process: loads one submission and serves the grader's requests, confined."""
from __future__ import annotations

import faulthandler
import io
import linecache
import math
import os
import signal
import sys
import traceback
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from nnlab.errors import ProtocolViolation
from nnlab.wire import codec, messages
from nnlab.wire.confinement import Confinement
from nnlab.wire.looping import STACK_FILE, LoopedBefore, LoopGuard
from nnlab.wire.seeding import seed_torch
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

    def write(self, text: str) -> int:
        text = str(text)
        if self.size < OUTPUT_CAP:
            self.kept.append(text[: OUTPUT_CAP - self.size])
        self.size += len(text)
        return len(text)

    def writable(self) -> bool:
        return True


def labelled_inputs(args: list[Any], kwargs: dict[str, Any],
                    names: list[str] | None = None) -> list[tuple[str, Any]]:
    """The call's arguments with the names messages give them: `names[i]` (or "argument i+1")
    for positional ones, the keyword for the others."""
    names = names or []
    labelled = [(str(names[i]) if i < len(names) else f"argument {i + 1}", a)
                for i, a in enumerate(args)]
    return labelled + [(str(k), v) for k, v in kwargs.items()]


def _tensors_in(items: list[tuple[str, Any]], depth: int = 0) -> list[tuple[str, torch.Tensor]]:
    """Every tensor among labelled values, inside lists, tuples and dicts too."""
    found: list[tuple[str, torch.Tensor]] = []
    for label, value in items:
        if isinstance(value, torch.Tensor):
            found.append((label, value))
        elif depth < 4 and isinstance(value, (list, tuple)):
            found += _tensors_in([(f"{label}[{i}]", v) for i, v in enumerate(value)], depth + 1)
        elif depth < 4 and isinstance(value, dict):
            found += _tensors_in([(f"{label}[{k!r}]", v) for k, v in value.items()], depth + 1)
    return found


def _tensor_state(t: torch.Tensor) -> tuple[Any, ...]:
    """Values, requires_grad, .grad and the number of hooks of a caller-owned tensor."""
    with torch._C.DisableTorchFunctionSubclass():
        values = t.detach().clone()
        grad = t.grad.detach().clone() if t.grad is not None else None
        hooks = len(t._backward_hooks or {}) + len(getattr(t, "_post_accumulate_grad_hooks", None) or {})
        return values, bool(t.requires_grad), grad, hooks


def _module_hooks(m: torch.nn.Module) -> int:
    return sum(len(getattr(m, name, None) or {}) for name in
               ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"))


def snapshot(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """The state of what the caller passed in: every tensor, and every module's parameters,
    buffers and hooks (by label)."""
    state: dict[str, Any] = {label: _tensor_state(t) for label, t in _tensors_in(items)}
    for label, value in items:
        if isinstance(value, torch.nn.Module):
            for kind, named in (("parameter", value.named_parameters()), ("buffer", value.named_buffers())):
                for name, t in named:
                    state[f"{label}.{name} ({kind})"] = _tensor_state(t)
            state[f"{label} (module)"] = _module_hooks(value)
    return state


def _same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype or a.device != b.device:
        return False
    return bool(((a == b) | ((a != a) & (b != b))).all())


def state_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    """What changed between two snapshots: (label, what changed) pairs, in input order."""
    changes: list[tuple[str, str]] = []
    for label, old in before.items():
        new = after.get(label)
        if new is None:
            changes.append((label, "was removed"))
        elif isinstance(old, int):
            if new != old:
                changes.append((label, f"hooks registered on it ({old} before, {new} after)"))
        else:
            changes += [(label, what) for what in _tensor_changes(old, new)]
    changes += [(label, "was added") for label in after if label not in before]
    return changes


def _tensor_changes(old: tuple[Any, ...], new: tuple[Any, ...]) -> list[str]:
    found = []
    if not _same_values(old[0], new[0]):
        found.append("its values were changed in place")
    if old[1] != new[1]:
        found.append(f"requires_grad was turned {'on' if new[1] else 'off'}")
    if (old[2] is None) != (new[2] is None):
        found.append("a .grad was left on it" if new[2] is not None else "its .grad was cleared")
    elif old[2] is not None and not _same_values(old[2], new[2]):
        found.append("its .grad was changed")
    if old[3] != new[3]:
        found.append(f"hooks were registered on it ({old[3]} before, {new[3]} after)")
    return found


class Worker(HandleTable):
    """Holds the submission module and the objects the grader refers to by handle."""

    def __init__(self) -> None:
        super().__init__()
        self.module: types.ModuleType | None = None
        self.filename = "submission.py"
        self.trace = BannedTrace()
        self.output = _CappedText()
        self.call_inputs: list[tuple[str, torch.Tensor]] = []
        """The current request's input tensors, by label: the reply's TensorMeta refers to them."""

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

    def op_load(self, request: messages.Load) -> messages.Loaded:
        self.filename = filename = request.filename
        seed_torch(request.seed)
        self.trace.configure(request.banned, request.banned_ops)
        module = types.ModuleType("submission")
        module.__file__ = filename
        # Registered so tracebacks show the student's own lines.
        source = request.source
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        code = compile(source, filename, "exec")
        sys.modules["submission"] = module
        self.module = module
        self.student(lambda: exec(code, module.__dict__))
        # After the import: a file whose import-time code loops has its own verdict.
        LoopGuard(filename, list(request.looped)).install()
        return messages.Loaded(sorted(k for k in module.__dict__ if not k.startswith("__")))

    def op_get(self, request: messages.Get) -> messages.Value:
        target, name = request.target, request.name
        if target is self.module and name not in self.module.__dict__:
            raise _Missing(f"the submission does not define `{name}`")
        return messages.Value(self.student(lambda: getattr(target, name)))

    def op_call(self, request: messages.Call) -> messages.Called:
        args, kwargs = request.args, request.kwargs
        labelled = labelled_inputs(args, kwargs, list(request.names))
        self.call_inputs = _tensors_in(labelled)
        before = snapshot(labelled) if request.audit else {}
        result = self.student(lambda: request.target(*args, **kwargs), request.traced)
        # Read by the worker's own code once the student's call has returned.
        changes = state_changes(before, snapshot(labelled)) if request.audit else None
        return messages.Called(result, changes, list(args) if request.return_args else None)

    def op_vjp(self, request: messages.Vjp) -> messages.Gradients:
        target, args, kwargs, module = request.target, request.args, request.kwargs, request.module
        self.call_inputs = _tensors_in(labelled_inputs(args, kwargs))
        leaves = [a for a in args if isinstance(a, torch.Tensor) and a.requires_grad]
        params = list(module.named_parameters()) if isinstance(module, torch.nn.Module) else []
        for _, param in params:
            param.grad = None

        def run() -> Any:
            with torch.enable_grad():
                output = target(*args, **kwargs)
            outputs = list(output) if isinstance(output, (tuple, list)) else [output]
            pairs = [(o, g) for o, g in zip(outputs, request.grad_outputs)
                     if g is not None and isinstance(o, torch.Tensor) and o.requires_grad]
            if pairs:
                torch.autograd.backward([o for o, _ in pairs], [g.to(o.device) for o, g in pairs])
            return output

        output = self.student(run)
        return messages.Gradients(output, [leaf.grad for leaf in leaves],
                                  {name: p.grad for name, p in params})

    def op_eval(self, request: messages.Eval) -> messages.Value:
        self.call_inputs = _tensors_in(list(request.bindings.items()))
        namespace = {"torch": torch, "nn": torch.nn, "F": F, "math": math,
                     "submission": self.module, **request.bindings}
        # Trusted: the expression is the grader's own.
        return messages.Value(self.student(lambda: eval(request.expression, namespace)))

    def op_repr(self, request: messages.Repr) -> messages.Text:
        return messages.Text(str(self.student(lambda: repr(request.target)))[:MAX_TEXT])

    def op_tensors(self, request: messages.Tensors) -> messages.Named:
        target, kind = request.target, request.kind
        if not isinstance(target, torch.nn.Module):
            raise TypeError(f"expected an nn.Module, got {type(target).__name__}")
        if kind == "parameters":
            return messages.Named(dict(self.student(lambda: list(target.named_parameters()))))
        if kind == "buffers":
            return messages.Named(dict(self.student(lambda: list(target.named_buffers()))))
        if kind == "grads":
            return messages.Named({n: p.grad for n, p in target.named_parameters()})
        raise ValueError(f"unknown tensor kind {kind}")

    # -- timing (the grader's timing checks) -----------------------------------------------------
    def op_store(self, request: messages.Store) -> messages.Stored:
        """Keeps grader-made tensors (a timing pool) here; returns their handles.

        `release` drops earlier pools so a long measurement does not pile up memory.
        """
        for old in request.release:
            hid = self.by_identity.get(id(old))
            if hid is not None and self.objects.get(hid) is old:
                self.objects[hid] = None
        return messages.Stored([self.handle_for(tensor) for tensor in request.tensors])

    def op_time_loop(self, request: messages.TimeLoop) -> messages.Timed:
        """The timed loop (`nnlab.wire.timed.time_loop`), on the student's code."""
        # A loop guard's hook would slow the student's side of the comparison: off while timed
        # (code that loops again meets the check's time limit instead).
        guard = sys.getprofile()
        sys.setprofile(None)
        try:
            reply = time_loop(self, self.trace, request.target, LoopRequest(
                request.args, request.kwargs, request.iterations, request.first, request.backward,
                request.grad_output, request.threads, request.digests, request.traced))
        finally:
            sys.setprofile(guard)
        return messages.Timed(reply["threads"], reply["kept"], reply["where"],
                              reply.get("digests"), reply.get("drawn"))

    def handler(self, request: Any) -> Callable[[Any], Any]:
        """The operation that serves `request`; a record that is no request is refused."""
        handlers: dict[type, Callable[[Any], Any]] = {
            messages.Load: self.op_load, messages.Get: self.op_get, messages.Call: self.op_call,
            messages.Vjp: self.op_vjp, messages.Eval: self.op_eval, messages.Repr: self.op_repr,
            messages.Tensors: self.op_tensors, messages.Store: self.op_store,
            messages.TimeLoop: self.op_time_loop}
        found = handlers.get(type(request))
        if found is None:
            raise ProtocolViolation(f"{type(request).__name__} is not a request")
        return found


class _Missing(Exception):
    """The grader asked for a name the submission does not define."""


def describe_exception(exc: BaseException, filename: str) -> messages.StudentFailure:
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
    return messages.StudentFailure(type(exc).__name__, mro, message, where[:MAX_TEXT],
                                   isinstance(exc, _Missing), isinstance(exc, LoopedBefore))


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
    sys.stdout = worker.output
    sys.stderr = worker.output


def _stack_dump_on_signal(scratch: str) -> Any:
    """SIGUSR1 makes faulthandler write every thread's stack to the scratch folder.

    The grader sends it to a worker that ran out of time, to tell the student which line
    was running and to give that code only a short grace in the exercise's later checks.
    faulthandler writes from the signal handler itself, so even a loop that never returns
    to the interpreter answers. The open file is returned: it must outlive the worker.
    """
    if not hasattr(signal, "SIGUSR1"):
        return None
    stacks = open(os.path.join(scratch, STACK_FILE), "w")  # held for life: no with
    faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True)
    return stacks


def serve(conn: Any, config: WorkerConfig) -> None:
    """Entry point in the forked child: confine, then answer requests until the pipe closes."""
    worker = Worker()
    _redirect_output(worker, config.scratch)
    stacks = _stack_dump_on_signal(config.scratch)
    confinement = Confinement("none", ())
    if config.limits is not None:
        from nnlab.worker import sandbox

        # Nothing beyond the runtime is readable: the submission arrives as text.
        keep = [conn.fileno()] + ([stacks.fileno()] if stacks is not None else [])
        confinement = sandbox.confine(Path(config.scratch), [], config.limits, keep_fds=keep)
    conn.send_bytes(codec.encode(messages.Hello(confinement, os.getpid())))
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            break
        conn.send_bytes(_answer(worker, message))
    os._exit(0)


def _answer(worker: Worker, message: bytes) -> bytes:
    """The reply to one request: its value, what the student's code raised, or a refusal."""
    worker.trace.seen.clear()
    worker.call_inputs = []
    try:
        request = codec.decode(message, resolve=worker.resolve)
        handler = worker.handler(request)
    except ProtocolViolation as exc:
        # A request this worker does not accept is the grader's bug: refused before any
        # student code runs, so it can never be charged to the student.
        return codec.encode(messages.Refused(str(exc)))
    except BaseException as exc:  # noqa: BLE001 - an unknown handle, as before: the student's
        return codec.encode(messages.Failed(describe_exception(exc, worker.filename),
                                            list(worker.trace.seen)))
    try:
        value = handler(request)
        return codec.encode(messages.Done(value, list(worker.trace.seen)),
                            handle_for=worker.handle_for, inputs=worker.call_inputs)
    except BaseException as exc:  # noqa: BLE001 - sys.exit() too is a student failure, not ours
        return codec.encode(messages.Failed(describe_exception(exc, worker.filename),
                                            list(worker.trace.seen)))


def warm_up(lazy_imports: bool = True) -> None:
    """Pays torch's first-call costs once in the fork server instead of in every worker.

    `lazy_imports`: optimizers, LR schedulers, torch.utils.checkpoint and torch.func import
    torch._dynamo on first use (0.7 s here, 5 s on a slow disk, 2 core-s under load): paid in
    a worker, that is per check, and inside whatever the check was timing. Without it a
    worker that uses them still works, only each such worker pays the import. The grader
    process itself never needs it, so this runs only from nnlab.worker.preload.
    """
    if lazy_imports:
        _warm_lazy_imports()
    trace = BannedTrace()
    trace.configure(["torch.sigmoid"], ["aten::sigmoid"])
    layer = torch.nn.Linear(2, 2)
    x = torch.ones(3, 2, requires_grad=True)
    with FunctionTracer(trace), DispatchTracer(trace):
        y = F.relu(layer(x)).sigmoid().sum()
        torch.autograd.backward([y], [torch.ones(())])
    codec.decode(codec.encode({"t": torch.ones(2), "x": [1.5, float("nan")]}))
    for kind in messages.RECORDS.values():  # each record's field types, read once for all workers
        messages.field_types(kind)


def _warm_lazy_imports() -> None:
    import torch._dynamo
    import torch.utils.checkpoint

    trace = BannedTrace()
    trace.configure(["torch.sigmoid"], ["aten::sigmoid"])
    layer = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    x = torch.ones(3, 2, requires_grad=True)
    with FunctionTracer(trace), DispatchTracer(trace):
        hidden = torch.utils.checkpoint.checkpoint(layer, x, use_reentrant=False)
        y = F.relu(hidden).sigmoid().sum()
        torch.autograd.backward([y], [torch.ones(())])
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()

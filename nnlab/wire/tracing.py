"""Watches for banned torch functions and aten ops; run alike on both sides of a timed call."""
from __future__ import annotations

from typing import Any

from torch._ops import OpOverload, OpOverloadPacket
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from nnlab.wire.names import resolve_dotted


class BannedTrace:
    """Records banned torch functions and aten ops while student code runs."""

    def __init__(self) -> None:
        self.functions: dict[int, tuple[Any, str]] = {}
        self.aten_ops: set[str] = set()
        self.seen: list[str] = []

    def configure(self, dotted_names: list[str], aten_ops: list[str]) -> None:
        for name in dotted_names:
            obj = resolve_dotted(name)
            if obj is not None:
                # Keep the object itself so its id cannot be reused by another object.
                self.functions[id(obj)] = (obj, name)
        self.aten_ops = set(aten_ops)

    def note(self, label: str) -> None:
        if label not in self.seen:
            self.seen.append(label)

    @property
    def active(self) -> bool:
        return bool(self.functions or self.aten_ops)


class FunctionTracer(TorchFunctionMode):
    """Notes banned functions (and aten operators called by name) as they are called."""

    def __init__(self, trace: BannedTrace) -> None:
        super().__init__()
        self.trace = trace

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        hit = self.trace.functions.get(id(func))
        if hit is not None and hit[0] is func:
            self.trace.note(hit[1])
        elif self.trace.aten_ops and isinstance(func, (OpOverload, OpOverloadPacket)):
            # An operator called by name (torch.ops.aten.x): where the dispatch-level
            # watch is off (timed calls), this is where it shows.
            name = func._schema.name if isinstance(func, OpOverload) else func._qualified_op_name
            if name in self.trace.aten_ops:
                self.trace.note(name)
        return func(*args, **(kwargs or {}))


class DispatchTracer(TorchDispatchMode):
    """Notes banned aten operators at dispatch, however they were reached."""

    def __init__(self, trace: BannedTrace) -> None:
        # torch's __init__ is untyped, and untyped_calls_exclude does not reach a super() call.
        super().__init__()  # type: ignore[no-untyped-call]
        self.trace = trace

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # torch wraps a mode's __torch_dispatch__ in torch._dynamo.disable unless told not
        # to, and the wrapper imports torch._dynamo on first use: 0.7 s of the fork server's
        # start-up, for a compiler that cannot run in a confined worker anyway.
        return False

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        name = func._schema.name
        if name in self.trace.aten_ops:
            self.trace.note(name)
        return func(*args, **(kwargs or {}))

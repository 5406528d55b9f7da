"""Every message between grader and worker: one request and one reply record per operation."""
from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from nnlab.wire.confinement import Confinement
from nnlab.wire.looping import LoopSite

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# The codec sends a registered record as its name and its fields, and the receiving side's
# decoder rebuilds it only if every field is there, none is extra, and each value has its
# declared type (`conforms`). A message that fails is refused before any handler runs: in
# the worker that is a bad request (the grader's bug, never the student's).


if TYPE_CHECKING:
    # Statically a Ref field is whatever the side reading it holds (see below).
    Ref = Any
else:
    class Ref:
        """A field type: an object that lives in the worker. It travels as a handle; the grader
        reads it as a Remote, the worker as the object itself."""


RECORDS: dict[str, type] = {}
"""Every record the codec may build, by the name it travels under."""
NAMES: dict[type, str] = {}


def record(cls: type) -> type:
    """Registers a frozen dataclass as a record that may cross the wire."""
    RECORDS[cls.__name__] = cls
    NAMES[cls] = cls.__name__
    return cls


record(Confinement)
record(LoopSite)


@functools.cache
def field_types(cls: type[DataclassInstance]) -> dict[str, Any]:
    """A record's fields and their declared types, in order."""
    hints = typing.get_type_hints(cls)
    return {name: hints[name] for name in cls.__dataclass_fields__}


def conforms(hint: Any, node: Any, value: Any) -> bool:
    """Whether a decoded `value` (from the wire `node`) has the declared type `hint`."""
    if hint is Any:
        return True
    if hint is Ref:
        return isinstance(node, dict) and "__handle__" in node
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(arg, node, value) for arg in args)
    if hint is type(None):
        return value is None
    if hint in (bool, int, float, str) or hint is torch.Tensor or hint in NAMES:
        return type(value) is hint
    if origin is list:
        return (type(value) is list and type(node) is list and len(node) == len(value)
                and all(conforms(args[0], n, v) for n, v in zip(node, value)))
    if origin is tuple:
        items = node.get("__tuple__") if isinstance(node, dict) else None
        if type(value) is not tuple or not isinstance(items, list) or len(items) != len(value):
            return False
        kinds = [args[0]] * len(value) if args[-1:] == (Ellipsis,) else list(args)
        return len(kinds) == len(value) and all(map(conforms, kinds, items, value))
    if origin is dict:
        pairs = node.get("__dict__") if isinstance(node, dict) else None
        return (type(value) is dict and isinstance(pairs, list) and len(pairs) == len(value)
                and all(conforms(args[1], pair[1], value[pair[0]]) for pair in pairs))
    return False


def type_name(hint: Any) -> str:
    """A declared type as messages name it ("list[str]", "Ref | None")."""
    text = hint.__name__ if isinstance(hint, type) else str(hint)
    return text.replace(f"{__name__}.", "").replace("typing.", "")


class Request:
    """A request the grader sends; `Reply` is the record the worker answers it with."""

    Reply: ClassVar[type]


# -- replies -------------------------------------------------------------------------------

@record
@dataclass(frozen=True)
class Value:
    """The value an operation produced: plain data and tensors, other objects as Refs."""

    value: Any


@record
@dataclass(frozen=True)
class Loaded:
    """The names the loaded submission defines."""

    names: list[str]


@record
@dataclass(frozen=True)
class Called:
    """A call's result; with an audit, what it changed; with its arguments, them after it."""

    result: Any
    changes: list[tuple[str, str]] | None
    """(input label, what changed) pairs, read by the worker's own code after the call."""
    args: list[Any] | None


@record
@dataclass(frozen=True)
class Gradients:
    """A forward and backward: the output, the input leaves' grads, the parameters' grads."""

    output: Any
    input_grads: list[Any]
    param_grads: dict[str, Any]


@record
@dataclass(frozen=True)
class Text:
    """Text the worker produced (a repr)."""

    text: str


@record
@dataclass(frozen=True)
class Named:
    """A module's tensors by name (parameters, buffers or grads)."""

    tensors: dict[str, Any]


@record
@dataclass(frozen=True)
class Stored:
    """The handles of tensors kept in the worker."""

    handles: list[Ref]


@record
@dataclass(frozen=True)
class Timed:
    """A timed loop's reply (`nnlab.wire.timed.time_loop`)."""

    threads: int
    """torch's thread count after the calls (code that changed it is caught)."""
    kept: Ref
    """Every call's output (and input grads), held in the worker until released."""
    where: list[Any]
    """Per call, where each held tensor lies in the worker's memory (read by a grader that
    reads the stopped worker itself); checked by that reader, since student code ran."""
    digests: list[Any] | None
    """With digests asked for: per call, one `nnlab.wire.timed.digest` (two floats; None for
    a missing grad) per held tensor; checked by the grader's session."""
    drawn: list[Any] | None
    """With digests asked for: one digest per input pool the worker drew."""


# -- requests ------------------------------------------------------------------------------

@record
@dataclass(frozen=True)
class Load(Request):
    """Load the submission; code that looped in earlier checks gets a short grace."""

    Reply = Loaded
    source: str
    filename: str
    banned: list[str]
    banned_ops: list[str]
    seed: int
    looped: tuple[LoopSite, ...]


@record
@dataclass(frozen=True)
class Get(Request):
    """Read an attribute of a worker object (of the submission module: handle 0)."""

    Reply = Value
    target: Ref
    name: str


@record
@dataclass(frozen=True)
class Call(Request):
    """Call a worker object."""

    Reply = Called
    target: Ref
    args: list[Any]
    kwargs: dict[str, Any]
    traced: bool = True
    """Watch for banned APIs during the call."""
    audit: bool = False
    """Also say what the call changed in the tensors and modules it was given."""
    return_args: bool = False
    """Also send the positional arguments back, as they are after the call."""
    names: tuple[str, ...] = ()
    """How messages name the positional arguments."""


@record
@dataclass(frozen=True)
class Vjp(Request):
    """Forward and backward of a worker object with the given output grads."""

    Reply = Gradients
    target: Ref
    args: list[Any]
    kwargs: dict[str, Any]
    grad_outputs: list[Any]
    module: Ref | None
    """The module whose parameters' grads come back too."""


@record
@dataclass(frozen=True)
class Eval(Request):
    """Evaluate the grader's own expression in the worker, with these bindings."""

    Reply = Value
    expression: str
    bindings: dict[str, Any]


@record
@dataclass(frozen=True)
class Repr(Request):
    """repr() of a worker object."""

    Reply = Text
    target: Ref


@record
@dataclass(frozen=True)
class Tensors(Request):
    """A module's 'parameters', 'buffers' or 'grads'."""

    Reply = Named
    target: Ref
    kind: str


@record
@dataclass(frozen=True)
class Store(Request):
    """Keep these tensors in the worker (a timing pool); drop the earlier pools in `release`."""

    Reply = Stored
    tensors: list[torch.Tensor]
    release: list[Ref]


@record
@dataclass(frozen=True)
class TimeLoop(Request):
    """One timed request (`nnlab.wire.timed.LoopRequest`) on a worker object."""

    Reply = Timed
    target: Ref
    args: list[Any]
    kwargs: dict[str, Any]
    iterations: int
    first: int
    backward: bool
    grad_output: Ref | None
    threads: int
    digests: bool
    traced: bool


# -- what the worker sends back --------------------------------------------------------------

@record
@dataclass(frozen=True)
class Hello:
    """The worker's first message: the confinement it is under."""

    confinement: Confinement
    pid: int


@record
@dataclass(frozen=True)
class Done:
    """A request served: its reply record, and the banned APIs the student's code called."""

    reply: Any
    banned: list[str]


@record
@dataclass(frozen=True)
class StudentFailure:
    """What the student's code raised: type, message and the student's own frames."""

    type: str
    classes: list[str]
    """Its class and base classes, qualified (its __mro__)."""
    message: str
    where: str
    missing: bool
    """The grader asked for a name the submission does not define."""
    looped: bool
    """Code that ran out of time before ran past its grace again."""


@record
@dataclass(frozen=True)
class Failed:
    """A request whose student code raised."""

    error: StudentFailure
    banned: list[str]


@record
@dataclass(frozen=True)
class Refused:
    """A request the worker does not accept (unknown, a field missing, extra or mistyped):
    the grader's bug, so no handler ran and no student code either."""

    reason: str

"""The wire format between grader and worker: plain data and raw tensor bytes, never pickle."""
from __future__ import annotations

import collections
import json
import math
import struct
import weakref
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from nnlab.errors import ProtocolViolation
from nnlab.wire import messages

# Only these dtypes cross the boundary; anything else is a protocol violation.
DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
DTYPE_NAMES: dict[torch.dtype, str] = {v: k for k, v in DTYPES.items()}

MAX_MESSAGE_BYTES = 1 << 30
MAX_DEPTH = 32
MAX_ITEMS = 100_000
_HEADER = struct.Struct("<Q")


@dataclass(frozen=True)
class Handle:
    """A reference to an object that lives in the worker (a module, a function, a class)."""

    id: int
    type_name: str


@dataclass(frozen=True)
class NonContiguous:
    """Asks the worker to rebuild this tensor as a non-contiguous (strided) view.

    Without a layout: a stride-2 slice of the last dimension. With one: `order` lists the
    dimensions from outermost to innermost in memory (reversed: a transpose; (0, 2, 3, 1):
    channels_last) and `step` spaces each dimension out (2: every other element).
    """

    tensor: torch.Tensor
    order: tuple[int, ...] | None = None
    step: tuple[int, ...] | None = None


@dataclass(frozen=True)
class OnDevice:
    """Asks the worker to move this tensor to a device (e.g. 'cuda') on arrival."""

    tensor: torch.Tensor
    device: str


@dataclass(frozen=True)
class RequiresGrad:
    """Asks the worker to make this tensor a leaf that requires grad."""

    tensor: torch.Tensor


@dataclass(frozen=True)
class TensorMeta:
    """What a returned tensor was in the worker, beyond its values (read there, after the call)."""

    requires_grad: bool
    """Whether the worker's tensor required grad."""
    has_grad_fn: bool
    """Whether a grad_fn was attached (the tensor is still part of an autograd graph)."""
    shares_storage_with: str | None
    """The label of the call's input whose storage it shares (a view of it, or itself), or None."""
    is_input: str | None
    """The label of the call's input it is (the very same object), or None."""


# Decoded tensor id -> (a weak reference to it, its metadata). A side table, so the tensor a
# check receives stays an exact torch.Tensor; the weak reference proves the id still names it.
_META: dict[int, tuple[weakref.ref[torch.Tensor], TensorMeta]] = {}


def tensor_meta(t: Any) -> TensorMeta | None:
    """The metadata the worker sent with `t` (a tensor decoded from its reply), or None."""
    entry = _META.get(id(t))
    if entry is None or entry[0]() is not t:
        return None
    return entry[1]


def _remember(t: torch.Tensor, meta: TensorMeta) -> None:
    key = id(t)

    def forget(ref: weakref.ref[torch.Tensor]) -> None:
        # Only our own entry: the id may already name a newer tensor.
        if key in _META and _META[key][0] is ref:
            del _META[key]

    _META[key] = (weakref.ref(t, forget), meta)


def _storage_ptr(t: torch.Tensor) -> int:
    """The address of t's storage (0 when it has none: empty, sparse, or not a plain tensor)."""
    try:
        storage = torch._C.TensorBase.untyped_storage(t)
        return int(storage.data_ptr()) if storage.nbytes() else 0
    except (RuntimeError, TypeError, NotImplementedError):
        return 0


# Its attributes read off the class are C descriptors, which torch types as the values they give.
_TENSOR_BASE: Any = torch._C.TensorBase


def read_meta(t: torch.Tensor, inputs: Sequence[tuple[str, torch.Tensor]]) -> dict[str, Any]:
    """The metadata of a tensor about to be sent, read from the real object.

    Read through torch's own C descriptors with subclass dispatch off, so a Tensor subclass
    cannot answer for itself (an overridden `requires_grad` property changes nothing here).
    """
    with torch._C.DisableTorchFunctionSubclass():
        requires_grad = bool(_TENSOR_BASE.requires_grad.__get__(t))
        has_grad_fn = _TENSOR_BASE.grad_fn.__get__(t) is not None
        pointer = _storage_ptr(t)
    shares = next((label for label, x in inputs if pointer and _storage_ptr(x) == pointer), None)
    same = next((label for label, x in inputs if x is t), None)
    return {"requires_grad": requires_grad, "grad_fn": has_grad_fn, "shares": shares, "is": same}


def _meta_in(node: Any) -> TensorMeta:
    if not isinstance(node, dict):
        raise ProtocolViolation("malformed tensor metadata in message")
    requires_grad, grad_fn = node.get("requires_grad"), node.get("grad_fn")
    shares, same = node.get("shares"), node.get("is")
    if not isinstance(requires_grad, bool) or not isinstance(grad_fn, bool) or \
            not all(v is None or isinstance(v, str) for v in (shares, same)):
        raise ProtocolViolation("malformed tensor metadata in message")
    return TensorMeta(requires_grad, grad_fn, None if shares is None else shares[:200],
                      None if same is None else same[:200])


def _float_out(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {"__float__": repr(value)}


class _Encoder:
    def __init__(self, handle_for: Any = None,
                 inputs: Sequence[tuple[str, torch.Tensor]] | None = None) -> None:
        self.buffers: list[bytes] = []
        # The worker registers non-plain objects as handles; the grader never does.
        self.handle_for = handle_for
        # The worker describes every tensor it returns (TensorMeta); the grader never does.
        self.inputs = inputs

    def tensor(self, t: torch.Tensor, extra: dict[str, Any]) -> dict[str, Any]:
        if self.inputs is not None:
            extra = {**extra, "meta": read_meta(t, self.inputs)}
        t = t.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        dtype_name = DTYPE_NAMES.get(t.dtype)
        if dtype_name is None:
            raise ProtocolViolation(f"tensors of dtype {t.dtype} cannot be exchanged")
        device = str(t.device)
        data = t.to("cpu").contiguous()
        if data.dtype == torch.bfloat16:
            raw = data.view(torch.int16).numpy().tobytes()
        elif data.dtype in (torch.complex64, torch.complex128):
            raw = torch.view_as_real(data).numpy().tobytes()
        else:
            raw = data.numpy().tobytes()
        self.buffers.append(raw)
        return {"__tensor__": len(self.buffers) - 1, "dtype": dtype_name,
                "shape": list(t.shape), "device": device, **extra}

    def __call__(self, obj: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ProtocolViolation("value nested too deeply to exchange")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj if abs(obj) < 2**62 else {"__bigint__": str(obj)}
        if isinstance(obj, float):
            return _float_out(obj)
        if isinstance(obj, torch.Tensor):
            return self.tensor(obj, {})
        if isinstance(obj, NonContiguous):
            layout: Any = True if obj.order is None else {"order": list(obj.order),
                                                          "step": list(obj.step or ())}
            return self.tensor(obj.tensor, {"noncontig": layout})
        if isinstance(obj, OnDevice):
            return self.tensor(obj.tensor, {"to": obj.device})
        if isinstance(obj, RequiresGrad):
            return self.tensor(obj.tensor, {"requires_grad": True})
        if type(obj) in messages.NAMES:
            fields = [[k, self(getattr(obj, k), depth + 1)] for k in obj.__dataclass_fields__]
            return {"__record__": messages.NAMES[type(obj)], "fields": fields}
        if isinstance(obj, Handle):
            return {"__handle__": obj.id, "type": obj.type_name}
        if isinstance(obj, torch.dtype):
            return {"__dtype__": DTYPE_NAMES.get(obj, str(obj))}
        if isinstance(obj, torch.device):
            return {"__device__": str(obj)}
        if isinstance(obj, (list, tuple)):
            items = [self(x, depth + 1) for x in obj]
            return items if type(obj) is list else {"__tuple__": items}
        if isinstance(obj, dict) and all(isinstance(k, str) for k in obj):
            return {"__dict__": [[k, self(v, depth + 1)] for k, v in obj.items()]}
        if self.handle_for is not None:
            return self(self.handle_for(obj), depth)
        raise ProtocolViolation(f"cannot send a value of type {type(obj).__name__}")


def strided_layout(shape: Sequence[int], layout: Any, device: str = "meta",
                   dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An empty tensor of `shape` laid out as `layout` asks (True: a stride-2 last dimension;
    {"order": [...], "step": [...]}: see NonContiguous); a malformed layout is refused."""
    n = len(shape)
    order: Any  # checked below, whichever way it came
    step: Any
    if layout is True:
        order, step = list(range(n)), [1] * (n - 1) + [2]
    elif isinstance(layout, dict):
        order, step = layout.get("order"), layout.get("step")
    else:
        raise ProtocolViolation("malformed tensor layout in message")
    if not (isinstance(order, list) and all(type(d) is int for d in order)
            and sorted(order) == list(range(n)) and isinstance(step, list)
            and len(step) == n and all(type(s) is int and 1 <= s <= 4 for s in step)
            and math.prod(step) <= 16):  # a spaced-out copy costs at most 16 times the tensor
        raise ProtocolViolation("malformed tensor layout in message")
    buffer = torch.empty([shape[d] * step[d] for d in order], dtype=dtype, device=device)
    spaced = buffer[tuple(slice(None, None, step[d]) for d in order)]
    return spaced.permute([order.index(d) for d in range(n)])


def strided_copy(tensor: torch.Tensor, layout: Any) -> torch.Tensor:
    """`tensor`'s values in a new tensor laid out as `layout` asks."""
    out = strided_layout(list(tensor.shape), layout, device=str(tensor.device), dtype=tensor.dtype)
    out.copy_(tensor)
    return out


def encode(obj: Any, handle_for: Any = None,
           inputs: Sequence[tuple[str, torch.Tensor]] | None = None) -> bytes:
    """Serializes plain data and tensors; `handle_for` maps other objects to Handles.

    With `inputs` (the worker's replies: the labelled tensors the call received, possibly
    none), every tensor carries its TensorMeta, which the decoder files in a side table.
    """
    encoder = _Encoder(handle_for, inputs)
    tree = encoder(obj)
    header = json.dumps({"tree": tree, "sizes": [len(b) for b in encoder.buffers]},
                        allow_nan=False).encode()
    return b"".join([_HEADER.pack(len(header)), header, *encoder.buffers])


class _Decoder:
    def __init__(self, buffers: list[memoryview], resolve: Any) -> None:
        self.buffers = buffers
        self.items = 0
        self.resolve = resolve

    def tensor(self, node: dict[str, Any]) -> torch.Tensor:
        name = node.get("dtype")
        dtype = DTYPES.get(name) if isinstance(name, str) else None
        shape = node.get("shape")
        index = node.get("__tensor__")
        if dtype is None or not isinstance(shape, list) or not isinstance(index, int):
            raise ProtocolViolation("malformed tensor in message")
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
            raise ProtocolViolation("malformed tensor shape in message")
        if not 0 <= index < len(self.buffers):
            raise ProtocolViolation("tensor refers to a missing buffer")
        raw = self.buffers[index]
        numel = math.prod(shape)
        if dtype == torch.bfloat16:
            storage_dtype, factor = torch.int16, 1
        elif dtype in (torch.complex64, torch.complex128):
            storage_dtype = torch.float32 if dtype == torch.complex64 else torch.float64
            factor = 2
        else:
            storage_dtype, factor = dtype, 1
        itemsize = torch.empty((), dtype=storage_dtype).element_size()
        if len(raw) != numel * factor * itemsize:
            raise ProtocolViolation("tensor byte size does not match its shape and dtype")
        if numel == 0:
            flat = torch.empty(0, dtype=storage_dtype)
        else:
            flat = torch.frombuffer(bytearray(raw), dtype=storage_dtype)
        if dtype == torch.bfloat16:
            tensor = flat.view(torch.bfloat16).reshape(shape)
        elif factor == 2:
            tensor = torch.view_as_complex(flat.reshape(*shape, 2))
        else:
            tensor = flat.reshape(shape)
        if node.get("noncontig") and tensor.dim() > 0:
            tensor = strided_copy(tensor, node["noncontig"])
        if node.get("to"):
            tensor = tensor.to(str(node["to"]))
        if node.get("requires_grad"):
            tensor.requires_grad_(True)
        if "meta" in node:
            _remember(tensor, _meta_in(node["meta"]))
        return tensor

    def record(self, node: dict[str, Any], depth: int) -> Any:
        """A registered record, rebuilt only with exactly its fields, each of its declared type."""
        name = node["__record__"]
        cls = messages.RECORDS.get(name) if isinstance(name, str) else None
        pairs = node.get("fields")
        if cls is None or not isinstance(pairs, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in pairs):
            raise ProtocolViolation(f"unknown record {str(name)[:60]!r} in message")
        types = messages.field_types(cls)
        given = collections.Counter(p[0] for p in pairs)
        missing = [n for n in types if n not in given]
        extra = sorted(n[:60] for n, times in given.items() if n not in types or times > 1)
        if missing or extra:
            raise ProtocolViolation(f"{cls.__name__} with fields missing {missing} "
                                    f"or unexpected {extra}")
        values = {}
        for field, child in pairs:
            values[field] = self(child, depth + 1)
            if not messages.conforms(types[field], child, values[field]):
                raise ProtocolViolation(f"{cls.__name__}.{field} is not "
                                        f"{messages.type_name(types[field])}")
        return cls(**values)

    def __call__(self, node: Any, depth: int = 0) -> Any:
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            raise ProtocolViolation("message too large or nested too deeply")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self(x, depth + 1) for x in node]
        if not isinstance(node, dict) or len(node) == 0:
            raise ProtocolViolation("malformed message")
        if "__tensor__" in node:
            return self.tensor(node)
        if "__tuple__" in node and isinstance(node["__tuple__"], list):
            return tuple(self(x, depth + 1) for x in node["__tuple__"])
        if "__dict__" in node and isinstance(node["__dict__"], list):
            out: dict[str, Any] = {}
            for pair in node["__dict__"]:
                if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise ProtocolViolation("malformed mapping in message")
                out[pair[0]] = self(pair[1], depth + 1)
            return out
        if "__float__" in node and node["__float__"] in ("nan", "inf", "-inf"):
            return float(node["__float__"])
        if "__bigint__" in node and isinstance(node["__bigint__"], str):
            return int(node["__bigint__"][:64])
        if "__record__" in node:
            return self.record(node, depth)
        if "__handle__" in node and isinstance(node["__handle__"], int):
            handle = Handle(node["__handle__"], str(node.get("type", "object"))[:200])
            return self.resolve(handle) if self.resolve else handle
        if "__dtype__" in node and node["__dtype__"] in DTYPES:
            return DTYPES[node["__dtype__"]]
        if "__device__" in node and isinstance(node["__device__"], str):
            return torch.device(node["__device__"][:32])
        raise ProtocolViolation("unknown value in message")


def decode(message: bytes, resolve: Any = None) -> Any:
    """Parses a message; only plain data, exact torch.Tensors and Handles come out."""
    if len(message) < _HEADER.size or len(message) > MAX_MESSAGE_BYTES:
        raise ProtocolViolation("message of impossible size")
    (header_len,) = _HEADER.unpack_from(message)
    view = memoryview(message)
    try:
        header = json.loads(bytes(view[_HEADER.size:_HEADER.size + header_len]))
        sizes = header["sizes"]
        tree = header["tree"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolViolation("unreadable message header") from exc
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes):
        raise ProtocolViolation("malformed buffer table")
    offset = _HEADER.size + header_len
    buffers = []
    for size in sizes:
        buffers.append(view[offset:offset + size])
        offset += size
    if offset != len(message):
        raise ProtocolViolation("message length does not match its buffers")
    return _Decoder(buffers, resolve)(tree)

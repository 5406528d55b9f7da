"""The timed loop both sides run (the worker for the student, the grader for the reference), and digests."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from nnlab.wire import codec
from nnlab.wire.tracing import BannedTrace, FunctionTracer


class HandleTable:
    """Objects kept on one side and referred to by handle from the other."""

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}
        self.by_identity: dict[int, int] = {}

    def handle_for(self, obj: Any) -> codec.Handle:
        key = id(obj)
        hid = self.by_identity.get(key)
        if hid is None or self.objects.get(hid) is not obj:
            hid = len(self.objects) + 1
            self.objects[hid] = obj
            self.by_identity[key] = hid
        return codec.Handle(hid, type(obj).__qualname__)

    def clear(self) -> None:
        self.objects.clear()
        self.by_identity.clear()


@dataclass(frozen=True)
class LoopRequest:
    """One timed request: `iterations` calls of a target on fresh windows of stored pools."""

    args: list[Any]
    """Per positional argument: ["window", base, shape, step, requires_grad] or ["value", v]."""
    kwargs: dict[str, Any]
    iterations: int
    first: int = 0
    """Iteration i reads the window at element offset (first + i) * step."""
    backward: bool = False
    grad_output: Any = None
    threads: int = 0
    digests: bool = False
    traced: bool = False


_MALLOC_STEADY = False


def _steady_malloc() -> None:
    # glibc maps large blocks afresh (and trims the heap) depending on the process's
    # history, so the same op can page-fault on every call in one process and never
    # in another: a bias of up to 2x between worker and grader. Both keep blocks up to
    # 32 MiB on the heap instead (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD).
    global _MALLOC_STEADY
    if _MALLOC_STEADY:
        return
    _MALLOC_STEADY = True
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)
        libc.mallopt(-1, 512 << 20)
    except (OSError, AttributeError):  # not glibc: nothing to steady
        pass


@dataclass(frozen=True)
class _Window:
    position: int
    base: torch.Tensor
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    step: int
    requires_grad: bool


def _windows(args: list[Any]) -> tuple[list[_Window], list[Any], list[torch.Tensor]]:
    """The windowed arguments, the call's argument list, and the digests of pools drawn here."""
    windows: list[_Window] = []
    call_args: list[Any] = []
    drawn: list[torch.Tensor] = []  # digests of the pools drawn here, before any call
    for position, spec in enumerate(args):
        if spec[0] != "window":
            call_args.append(spec[1])
            continue
        _, base, shape, step, requires_grad = spec
        if isinstance(base, list) and base[:1] == ["draw"]:
            base = draw_pool(*base[1:])
            drawn.append(digest(base))
        shape = tuple(int(d) for d in shape)
        strides = [1] * len(shape)
        for d in range(len(shape) - 2, -1, -1):
            strides[d] = strides[d + 1] * shape[d + 1]
        windows.append(_Window(position, base, shape, tuple(strides), int(step), bool(requires_grad)))
        call_args.append(None)
    return windows, call_args, drawn


def _calls(target: Callable[..., Any], request: LoopRequest, windows: list[_Window],
           call_args: list[Any], watch: Any) -> list[list[Any]]:
    """Runs the calls; holds every call's output (and input grads)."""
    kwargs = dict(request.kwargs or {})
    kept: list[list[Any]] = []
    with watch, torch.enable_grad() if request.backward else torch.no_grad():
        for i in range(int(request.iterations)):
            leaves = []
            for w in windows:
                x = w.base.as_strided(w.shape, w.strides, (request.first + i) * w.step)
                if w.requires_grad:
                    x = x.detach().requires_grad_(True)
                    leaves.append(x)
                call_args[w.position] = x
            out = target(*call_args, **kwargs)
            # Exactly a tensor: a subclass could hold its values back and compute them
            # only when the grader reads the one call it re-checks.
            if type(out) is not torch.Tensor:
                raise TypeError(f"expected a torch.Tensor, got {type(out).__name__}")
            if request.backward:
                torch.autograd.backward([out], [request.grad_output])
            grads = [leaf.grad for leaf in leaves]
            if any(g is not None and type(g) is not torch.Tensor for g in grads):
                raise TypeError("an input gradient is not a plain torch.Tensor")
            kept.append([out.detach(), *grads])
    return kept


def _commit(kept: list[list[Any]], drawn: list[torch.Tensor]) -> list[list[list[float] | None]]:
    """Every held tensor's digest, then the drawn pools' (last)."""
    sums: list[Sequence[torch.Tensor | None]] = [[None if t is None else digest(t) for t in call] for call in kept]
    sums.append(drawn)  # the inputs, last
    flat = [d for call in sums for d in call if d is not None]
    # One transfer from the device at the end, not a synchronize per call.
    values = iter(torch.stack(flat).double().cpu().tolist() if flat else [])
    return [[None if d is None else next(values) for d in call] for call in sums]


def time_loop(table: HandleTable, trace: BannedTrace, target: Callable[..., Any],
              request: LoopRequest) -> dict[str, Any]:
    """Calls `target` `request.iterations` times on fresh windows of stored pools.

    The grader reads the clock around this whole request; it runs the torch reference
    through this same function in its own process, so both sides pay for exactly the same
    loop. Each entry of `args` is ["window", base, shape, step, requires_grad] (iteration i
    gets the contiguous window of the 1-D `base` at element offset (first + i) * step, so no
    two calls see the same input) or ["value", v]. A `base` may also be ["draw", kind, n,
    scale, high, dtype, seed, device]: the pool is then drawn here, inside the request
    (`draw_pool`), so it exists nowhere before.

    Every call's output (and input grads) is held: the grader picks the calls it re-checks
    only once this request is over, so no call can know it will be looked at. The reply
    says where each held tensor lies in memory ("where"), for a grader that reads them
    itself from the stopped worker, and carries the handle of them all.

    With `traced`, banned torch functions are watched for as in every other request
    (function level only: watching aten ops would cost far more than the calls), and the
    watch is on even with nothing to watch for, so the reference pays its cost too.

    With `digests`, the reply also commits to every held tensor's `digest`, computed inside
    the request: a grader that must fetch the picked outputs by a later request (no memory
    access) checks they still match, so no value can be computed afterwards.
    """
    if request.threads and torch.get_num_threads() != request.threads:
        torch.set_num_threads(request.threads)
    _steady_malloc()
    windows, call_args, drawn = _windows(request.args)
    on_cuda = any(w.base.is_cuda for w in windows) or (
        request.grad_output is not None and request.grad_output.is_cuda)
    if on_cuda:
        # TF32 (cuDNN's default for convolutions) rounds to 10-bit mantissas: the
        # re-checked values would miss the float64 reference. Full float32 on both sides.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    watch = FunctionTracer(trace) if request.traced else contextlib.nullcontext()
    kept = _calls(target, request, windows, call_args, watch)
    committed = _commit(kept, drawn) if request.digests else None
    if on_cuda:
        torch.cuda.synchronize()  # device-wide: every kernel queued above has finished
    reply = {"threads": torch.get_num_threads(), "kept": table.handle_for(kept),
             "where": [[where(t) for t in call] for call in kept]}
    if committed is not None:
        reply["digests"] = committed[:-1]
        reply["drawn"] = committed[-1]
    return reply


_DIGEST_WEIGHTS: dict[Any, torch.Tensor] = {}


def digest(t: torch.Tensor) -> torch.Tensor:
    """[sum |t|, sum w * t] (float32, or float64 for float64 t), w_j = 1 + cos(j) / 2.

    Committed by a timed request for every output it holds. The L1 norm cannot be had
    without every value: unlike any fixed linear combination, which a linear layer's
    weights would let a submission precompute from the inputs alone. The weighted sum
    moves with any small or systematic change (it checks that two sides drew the same
    inputs). One or two passes over t; the weights are made once per size and device.
    """
    flat = t.detach().reshape(-1)
    dtype = torch.float64 if flat.dtype == torch.float64 else torch.float32
    values = flat.to(dtype)
    key = (values.numel(), values.device, dtype)
    w = _DIGEST_WEIGHTS.get(key)
    if w is None:
        w = torch.arange(values.numel(), device=values.device, dtype=torch.float64).cos_()
        w = w.mul_(0.5).add_(1.0).to(dtype)
        _DIGEST_WEIGHTS[key] = w
    return torch.stack([torch.linalg.vector_norm(values, 1), torch.dot(values, w)])


def draw_pool(kind: str, n: int, scale: float, high: int, dtype: torch.dtype, seed: int,
              device: str) -> torch.Tensor:
    """`n` random values for timing inputs: the same for one seed in every process, on one
    device. 'normal' (times `scale`), 'integers' (in [0, high)) or 'binary' (0./1.)."""
    generator = torch.Generator(device=device).manual_seed(int(seed))
    if kind == "integers":
        return torch.randint(0, int(high), (int(n),), generator=generator, dtype=dtype,
                             device=device)
    if kind == "binary":
        return torch.randint(0, 2, (int(n),), generator=generator, device=device).to(dtype)
    drawn = torch.randn(int(n), generator=generator, device=device,
                        dtype=dtype if dtype.is_floating_point else torch.float64)
    return (drawn.mul_(scale) if scale != 1.0 else drawn).to(dtype)


def where(t: Any) -> list[Any] | None:
    """[address, shape, strides, dtype name] of a CPU tensor's data; None for anything else."""
    if (not isinstance(t, torch.Tensor) or t.device.type != "cpu" or t.layout != torch.strided
            or t.is_conj() or t.is_neg()):  # lazy flags: memory would not hold the values
        return None
    name = codec.DTYPE_NAMES.get(t.dtype)
    if name is None:
        return None
    return [t.data_ptr(), list(t.shape), list(t.stride()), name]

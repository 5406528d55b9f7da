"""Comparisons that teach: each failure names what was wrong, where, and by how much."""
from __future__ import annotations

import contextlib
import hashlib
import math
from typing import Any, Iterator, Sequence

import torch

from nnlab.errors import StudentCodeError
from nnlab.i18n import failure
from nnlab.wire.codec import NonContiguous, strided_layout

# (rtol, atol) per dtype: loose enough for a different but stable formula, tight enough
# that a wrong constant or a missing term fails.
TOLERANCES: dict[torch.dtype, tuple[float, float]] = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (2e-2, 1e-2),
}


class CheckFailed(AssertionError):
    """A check's verdict: the submission's answer is wrong; the message says how."""


def randn(*shape: int, dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
    """Normal inputs from the check's seeded generator."""
    return torch.randn(shape, dtype=torch.float64).mul_(scale).to(dtype)


def randint(low: int, high: int, *shape: int, dtype: torch.dtype = torch.int64) -> torch.Tensor:
    """Integers in [low, high) from the check's seeded generator, like torch.randint, where
    `low` and `high - 1` each appear at least once (at drawn places) when there is room.

    A discrete draw that may miss its boundary values passes code that is wrong only there
    (an embedding with padding_idx=0, a class index off by one) on some seeds and not others.
    """
    values = torch.randint(low, high, shape, dtype=torch.int64)
    flat = values.view(-1)
    if flat.numel() >= 2 and high - low >= 2:
        first, second = torch.randperm(flat.numel())[:2].tolist()
        flat[first], flat[second] = low, high - 1
    elif flat.numel() == 1:  # room for one: either boundary
        flat[0] = (low, high - 1)[int(torch.randint(0, 2, ()))]
    return values.to(dtype)


def noncontig(t: torch.Tensor, channels_last: bool = True) -> NonContiguous:
    """Sends `t` to the worker as a non-contiguous view with the same values.

    The layout depends on the check's seed and the tensor (so a run is reproducible, and
    drawing it takes nothing from the check's random stream): a transpose, a permutation,
    channels_last for 4-D, or strides on inner dimensions, chosen among those on which no
    two neighbouring dimensions can be merged by `.view`, so code that works only on
    contiguous memory fails whichever layout is drawn. `.reshape` works on every one.
    `channels_last=False` leaves channels_last out, for a model whose statement allows
    `.view` after a convolution (a convolution keeps channels_last in its output).
    """
    layouts = noncontig_layouts(tuple(t.shape), channels_last)
    if not layouts:
        return NonContiguous(t)
    sample = t.detach().reshape(-1)[:64].cpu()
    sample = torch.view_as_real(sample) if sample.is_complex() else sample
    digest = hashlib.blake2b(repr((torch.initial_seed(), tuple(t.shape), str(t.dtype))).encode()
                             + sample.double().numpy().tobytes(), digest_size=8).digest()
    order, step = layouts[int.from_bytes(digest, "little") % len(layouts)]
    return NonContiguous(t, order, step)


def noncontig_layouts(shape: tuple[int, ...], channels_last: bool = True
                      ) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The (order, step) layouts `noncontig` may send a tensor of `shape` in: non-contiguous,
    and, where the shape has two dimensions of size > 1, with no mergeable neighbours."""
    n = len(shape)
    if n == 0 or math.prod(shape) <= 1:
        return []
    ident, ones = tuple(range(n)), (1,) * n
    candidates = [(ident, (2,) * n), (ident, (2,) * (n - 1) + (1,)), (ident[::-1], ones)]
    if n >= 2:
        swapped = ident[:-2] + (n - 1, n - 2)
        candidates += [(swapped, ones), (swapped, (2,) * (n - 2) + (1, 1)),
                       (ident[1:] + (0,), ones), (ident[1:] + (0,), (1,) + (2,) * (n - 1))]
    if n == 4 and channels_last:
        candidates += [((0, 2, 3, 1), ones), ((0, 2, 3, 1), (1, 1, 2, 1))]
    usable = []
    for order, step in dict.fromkeys(candidates):
        if math.prod(step) > 16:
            continue
        meta = strided_layout(shape, {"order": list(order), "step": list(step)})
        if not meta.is_contiguous():
            usable.append(((order, step), _no_mergeable_neighbours(meta)))
    strict = [layout for layout, unmergeable in usable if unmergeable]
    return strict or [layout for layout, _ in usable]


def _no_mergeable_neighbours(t: torch.Tensor) -> bool:
    """Whether `.view` can merge no two neighbouring dimensions of size > 1 of `t`
    (dimensions of size 1 merge with anything, so they are left out)."""
    dims = [(size, stride) for size, stride in zip(t.shape, t.stride()) if size > 1]
    return all(outer[1] != inner[1] * inner[0] for outer, inner in zip(dims, dims[1:]))


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _where(index: Sequence[int]) -> str:
    return "(" + ", ".join(str(i) for i in index) + ")"


def assert_tensor(got: Any, what: str, shape: Sequence[int] | None = None,
                  dtype: torch.dtype | None = None) -> torch.Tensor:
    """Fails unless `got` is a plain torch.Tensor of the given shape and dtype."""
    if type(got) is not torch.Tensor:
        raise CheckFailed(failure("not_a_tensor", what=what, got=type(got).__name__))
    if shape is not None and tuple(got.shape) != tuple(shape):
        raise CheckFailed(failure("shape", what=what, expected=tuple(shape), got=tuple(got.shape)))
    if dtype is not None and got.dtype != dtype:
        raise CheckFailed(failure("dtype", what=what, expected=dtype, got=got.dtype))
    return got


def assert_close(got: Any, expected: torch.Tensor, what: str, family: str = "",
                 rtol: float | None = None, atol: float | None = None,
                 check_dtype: bool = True) -> None:
    """Fails with the worst element, its index, expected and got values when not close."""
    label = f"{what} ({family})" if family else what
    assert_tensor(got, label, expected.shape, expected.dtype if check_dtype else None)
    default_rtol, default_atol = TOLERANCES.get(expected.dtype, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    if got.numel() == 0:
        return
    g = got.detach().to("cpu", torch.float64) if got.dtype.is_floating_point or got.dtype.is_complex \
        else got.detach().cpu().double()
    e = expected.detach().to("cpu", torch.float64)
    same_nonfinite = (g == e) | (torch.isnan(g) & torch.isnan(e))
    err = (g - e).abs()
    err = torch.where(same_nonfinite, torch.zeros_like(err), err)
    err = torch.where(torch.isnan(err), torch.full_like(err, math.inf), err)
    allowed = atol + rtol * e.abs()
    excess = torch.where(same_nonfinite, torch.zeros_like(err), err - allowed)
    if bool((excess <= 0).all()):
        return
    flat = int(torch.argmax(excess).item())
    index = torch.unravel_index(torch.tensor(flat), tuple(e.shape)) if e.dim() else ()
    idx = tuple(int(i) for i in index)
    exp_v = e[idx].item() if idx else e.item()
    got_v = g[idx].item() if idx else g.item()
    bad = int((excess > 0).sum().item())
    raise CheckFailed(failure(
        "close", what=label, bad=bad, total=e.numel(), index=_where(idx), expected=_fmt(exp_v),
        got=_fmt(got_v), error=_fmt(abs(got_v - exp_v)), atol=_fmt(atol), rtol=_fmt(rtol)))


def assert_equal(got: Any, expected: Any, what: str) -> None:
    """Fails unless two plain values (numbers, strings, tuples) are equal."""
    if got != expected:
        raise CheckFailed(failure("equal", what=what, expected=repr(expected), got=repr(got)))


@contextlib.contextmanager
def expect_raises(exc_type: type[BaseException], what: str) -> Iterator[None]:
    """Passes when student code raises `exc_type` (or a subclass) inside the block.

    Use it instead of pytest.raises: the student's exception happens in the worker and
    arrives as a StudentCodeError naming the original type and its base classes.
    """
    wanted = f"{exc_type.__module__}.{exc_type.__qualname__}"
    try:
        yield
    except StudentCodeError as error:
        if wanted in getattr(error, "mro", []):
            return
        raised = str(error).split(": ", 2)[1] if ": " in str(error) else "another error"
        raise CheckFailed(failure("raised_other", what=what, expected=exc_type.__name__,
                                  raised=raised)) from None
    raise CheckFailed(failure("did_not_raise", what=what, expected=exc_type.__name__))

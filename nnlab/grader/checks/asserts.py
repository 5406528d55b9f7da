"""Comparisons that teach: each failure names what was wrong, where, and by how much."""
from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Sequence

import torch

from nnlab.errors import StudentCodeError
from nnlab.i18n import failure
from nnlab.wire.codec import NonContiguous

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


def noncontig(t: torch.Tensor) -> NonContiguous:
    """Sends `t` to the worker as a non-contiguous view with the same values."""
    return NonContiguous(t)


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

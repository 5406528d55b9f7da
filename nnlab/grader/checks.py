"""Helpers for writing checks: inputs, comparisons that teach, gradients through the worker."""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
from torch.autograd.gradcheck import GradcheckError

from nnlab.errors import StudentCodeError
from nnlab.wire.codec import NonContiguous, RequiresGrad
from nnlab.grader.exercise import Exercise
from nnlab.grader.session import Remote, remote_label, remote_session

__all__ = [
    "GradingContext", "CheckFailed", "timing", "randn", "noncontig", "assert_tensor",
    "assert_close", "assert_equal", "expect_raises", "remote_function", "gradcheck_remote",
    "vjp", "parameters_of", "buffers_of", "state_dict_of", "load_reference_state", "repr_of",
    "NonContiguous", "RequiresGrad",
]

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


@dataclass(frozen=True)
class GradingContext:
    """What a check knows about the run: the exercise, the seeds, the timing device."""

    exercise: Exercise
    seed: int
    """The run's secret seed (recorded in the results)."""
    check_seed: int
    """This check's seed, derived from the run's seed and the check's name."""
    device: str
    """'cuda' when a GPU is present, else 'cpu'."""
    launcher: Any = None
    source: str = ""
    filename: str = ""


def timing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a check as a timing check (it is listed as such and scheduled last)."""
    fn.nnlab_timing = True  # type: ignore[attr-defined]
    return fn


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
        raise CheckFailed(f"{what}: expected a torch.Tensor, got {type(got).__name__}")
    if shape is not None and tuple(got.shape) != tuple(shape):
        raise CheckFailed(f"{what}: expected shape {tuple(shape)}, got {tuple(got.shape)}")
    if dtype is not None and got.dtype != dtype:
        raise CheckFailed(f"{what}: expected dtype {dtype}, got {got.dtype}")
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
    raise CheckFailed(
        f"{label}: {bad} of {e.numel()} values differ; worst at index {_where(idx)}: "
        f"expected {_fmt(exp_v)}, got {_fmt(got_v)} (abs error {_fmt(abs(got_v - exp_v))}, "
        f"tolerance {_fmt(atol)} + {_fmt(rtol)}*|expected|)"
    )


def assert_equal(got: Any, expected: Any, what: str) -> None:
    """Fails unless two plain values (numbers, strings, tuples) are equal."""
    if got != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {got!r}")


@contextlib.contextmanager
def expect_raises(exc_type: type[BaseException], what: str) -> Iterator[None]:
    """Passes when student code raises `exc_type` (or a subclass) inside the block."""
    wanted = f"{exc_type.__module__}.{exc_type.__qualname__}"
    try:
        yield
    except StudentCodeError as error:
        mro = getattr(error, "mro", [])
        if wanted in mro:
            return
        raised = str(error).split(": ", 2)[1] if ": " in str(error) else "another error"
        raise CheckFailed(f"{what}: expected {exc_type.__name__}, but your code raised {raised}") from None
    raise CheckFailed(f"{what}: expected {exc_type.__name__}, but the call succeeded")


def _tensor_grads(grads: Any, n: int, what: str) -> list[torch.Tensor | None]:
    if not isinstance(grads, list) or len(grads) != n:
        raise CheckFailed(f"{what}: gradients did not come back")
    for g in grads:
        if g is not None and type(g) is not torch.Tensor:
            raise CheckFailed(f"{what}: a gradient came back as {type(g).__name__}")
    return grads


def vjp(target: Remote, inputs: Sequence[torch.Tensor], grad_outputs: Sequence[torch.Tensor | None],
        module: Remote | None = None, extra_args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None) -> tuple[Any, list[torch.Tensor | None], dict[str, Any]]:
    """Runs forward and backward in the worker: (output, input grads, parameter grads)."""
    session = remote_session(target)
    reply = session.vjp(target, tuple(RequiresGrad(x.detach()) for x in inputs) + tuple(extra_args),
                        list(grad_outputs), kwargs=kwargs, module=module)
    what = f"backward of {remote_label(target)}"
    grads = _tensor_grads(reply.get("input_grads"), len(inputs), what)
    params = reply.get("param_grads") or {}
    return reply.get("output"), grads, params


def remote_function(target: Remote, module: Remote | None = None,
                    kwargs: dict[str, Any] | None = None) -> Callable[..., torch.Tensor]:
    """A local differentiable function whose forward and backward run in the worker.

    Used with torch.autograd.gradcheck in the grader: the numbers are the student's, the
    judging is ours.
    """
    what = remote_label(target)

    class _Bridge(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, *inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            ctx.save_for_backward(*inputs)
            out = target(*[x.detach() for x in inputs], **(kwargs or {}))
            return assert_tensor(out, f"output of {what}").to(inputs[0].device)

        @staticmethod
        def backward(ctx: Any, grad_output: torch.Tensor) -> Any:  # type: ignore[override]
            inputs = ctx.saved_tensors
            _, grads, _ = vjp(target, inputs, [grad_output], module=module, kwargs=kwargs)
            return tuple(grads)

    def apply(*inputs: torch.Tensor) -> torch.Tensor:
        return _Bridge.apply(*inputs)

    return apply


def gradcheck_remote(target: Remote, inputs: Sequence[torch.Tensor], what: str,
                     module: Remote | None = None, kwargs: dict[str, Any] | None = None,
                     atol: float = 1e-6, rtol: float = 1e-4) -> None:
    """torch.autograd.gradcheck (float64) on the student's forward and backward."""
    fn = remote_function(target, module=module, kwargs=kwargs)
    leaves = tuple(x.detach().double().requires_grad_(True) for x in inputs)
    try:
        torch.autograd.gradcheck(fn, leaves, eps=1e-6, atol=atol, rtol=rtol, raise_exception=True)
    except GradcheckError as error:
        first = str(error).strip().splitlines()[0]
        raise CheckFailed(f"{what}: gradcheck failed: {first}") from None
    except RuntimeError as error:  # e.g. a gradient of the wrong shape
        raise CheckFailed(f"{what}: gradcheck failed: {str(error).splitlines()[0]}") from None


def parameters_of(module: Remote) -> dict[str, torch.Tensor]:
    """The named parameters of a worker module, as plain tensors."""
    return remote_session(module).tensors(module, "parameters")


def buffers_of(module: Remote) -> dict[str, torch.Tensor]:
    return remote_session(module).tensors(module, "buffers")


def state_dict_of(module: Remote) -> dict[str, torch.Tensor]:
    value = module.state_dict()
    if not isinstance(value, dict):
        raise CheckFailed(f"state_dict() of {remote_label(module)} did not return a mapping")
    return value


def load_reference_state(module: Remote, reference: torch.nn.Module) -> None:
    """Gives the student's module the reference's exact parameters and buffers."""
    module.load_state_dict({k: v.detach().clone() for k, v in reference.state_dict().items()})


def repr_of(obj: Remote) -> str:
    return remote_session(obj).repr(obj)

"""The re-check of timed calls: picked outputs against a float64 reference, and their digests."""
from __future__ import annotations

import copy
import math
from typing import Any, Callable, Sequence

import pytest
import torch

from nnlab.errors import ProtocolViolation
from nnlab.grader.checks.asserts import TOLERANCES, CheckFailed, assert_close, assert_tensor
from nnlab.grader.timing import freezer, tuning
from nnlab.grader.timing.inputs import TimedInput
from nnlab.grader.timing.pools import Plan, Pools
from nnlab.wire import messages
from nnlab.wire.timed import digest as worker_digest


def _to64(x: Any) -> Any:
    if isinstance(x, torch.Tensor) and x.is_floating_point():
        return x.double()
    return x


class Checker:
    """Recomputes timed calls in float64 on the CPU, from pristine copies of their inputs."""

    def __init__(self, reference: Callable[..., Any], expected: Callable[..., Any] | None,
                 plan: Plan, what: str, rtol: float | None, atol: float | None) -> None:
        if expected is not None:
            self.fn = expected
        elif isinstance(reference, torch.nn.Module):
            self.fn = copy.deepcopy(reference).to("cpu").double()
        else:
            self.fn = reference
        self.plan, self.what, self.rtol, self.atol = plan, what, rtol, atol

    def check(self, kept: Any, pools: Pools, grad_output: torch.Tensor | None) -> None:
        what = f"{self.what} on the timed inputs"
        if not isinstance(kept, list) or not kept:
            raise ProtocolViolation("the timed outputs did not come back")
        for item in kept:
            if not (isinstance(item, dict) and isinstance(item.get("index"), int)
                    and 0 <= item["index"] < pools.windows):
                raise ProtocolViolation("the timed outputs came back malformed")
            args = [_to64(a) for a in pools.window(self.plan, item["index"])]
            leaves = [a for a, spec in zip(args, self.plan.args)
                      if isinstance(spec, TimedInput) and spec.requires_grad and self.plan.backward]
            for leaf in leaves:
                leaf.requires_grad_(True)
            with torch.enable_grad() if self.plan.backward else torch.no_grad():
                expected = self.fn(*args, **self.plan.kwargs)
                got = assert_tensor(item.get("output"), f"{what}: output")
                self._close(got, expected.detach().to(got.dtype), f"{what}: output")
                if not leaves:
                    continue
                assert grad_output is not None, "a plan with backward sends its grad_output"
                grads = torch.autograd.grad([expected], leaves, [grad_output.double()])
            got_grads = item.get("grads")
            if not isinstance(got_grads, list) or len(got_grads) != len(leaves):
                raise CheckFailed(f"{what}: the input gradients did not come back")
            for k, (g, e) in enumerate(zip(got_grads, grads)):
                if g is None:
                    raise CheckFailed(f"{what}: no gradient reached input {k}")
                g = assert_tensor(g, f"{what}: gradient of input {k}")
                try:
                    self._close(g, e.to(g.dtype), f"{what}: gradient of input {k}")
                except CheckFailed:
                    if not _near_in_norm(g, e):
                        raise


    def _close(self, got: torch.Tensor, expected: torch.Tensor, what: str) -> None:
        """assert_close, which names the worst element, unless `got` is plainly close."""
        if not _plainly_close(got, expected, self.rtol, self.atol):
            assert_close(got, expected, what, family="timed inputs", rtol=self.rtol,
                         atol=self.atol)


_HALF = (torch.float16, torch.bfloat16)


def _plainly_close(got: torch.Tensor, expected: torch.Tensor, rtol: float | None,
                   atol: float | None) -> bool:
    """True only where assert_close would pass: every element within 99% of its tolerance.

    assert_close works on float64 copies to name the worst element: about 4 ms for one
    my_linear output, most of a round's time. This test runs in the tensors' own precision
    (float32 for half types), whose rounding is far under the 1% kept in reserve; a NaN, an
    infinity, another dtype or device, or a value near its tolerance falls through to
    assert_close, so no verdict changes.
    """
    if not (type(got) is torch.Tensor and type(expected) is torch.Tensor
            and got.dtype == expected.dtype and got.shape == expected.shape
            and got.dtype in TOLERANCES and got.device.type == expected.device.type == "cpu"):
        return False
    default_rtol, default_atol = TOLERANCES[got.dtype]
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    with torch.no_grad():
        g, e = got.detach(), expected.detach()
        if g.dtype in _HALF:
            g, e = g.float(), e.float()
        allowed = e.abs().mul_(0.99 * rtol).add_(0.99 * atol)
        return bool((g - e).abs_().le_(allowed).all())


def _near_in_norm(got: torch.Tensor, expected: torch.Tensor) -> bool:
    """Whether `got` is within KINK_NORM_RTOL of `expected` in relative 2-norm."""
    if got.shape != expected.shape:
        return False
    error = torch.linalg.vector_norm(got.double() - expected.double())
    scale = torch.linalg.vector_norm(expected.double())
    return bool(torch.isfinite(error)) and float(error) <= tuning.KINK_NORM_RTOL * float(scale)


def _held_name(k: int) -> str:
    """What the k-th tensor held for a timed call is: its output, then its input grads."""
    return "output" if k == 0 else f"gradient of input {k - 1}"


def held_calls(reply: messages.Timed, picks: Sequence[int], pid: int,
               shapes: Sequence[tuple[int, ...]], what: str) -> list[dict[str, Any]]:
    """The picked calls' output and input grads, read from the stopped worker's memory.

    `shapes`: the reference's output shape, then its input grads'. A tensor of another
    shape fails here, before anything is read: the grader reads no more than it expects.
    """
    items = []
    for index in picks:
        try:
            call = reply.where[index]
            if not isinstance(call, list):
                raise freezer.UnreachableMemory("its description was malformed")
            for k, (w, shape) in enumerate(zip(call, shapes)):
                if isinstance(w, list) and len(w) == 4 and isinstance(w[1], list) \
                        and tuple(w[1]) != tuple(shape):
                    got = tuple(w[1]) if all(isinstance(d, int) for d in w[1]) else "malformed"
                    raise CheckFailed(f"{what} on the timed inputs: {_held_name(k)}: "
                                      f"expected shape {tuple(shape)}, got {got}")
            tensors = [None if w is None else freezer.read_tensor(pid, w) for w in call]
            if not tensors or tensors[0] is None:
                raise freezer.UnreachableMemory("it is not a plain CPU tensor")
        except freezer.UnreachableMemory as error:
            raise CheckFailed(f"the output of timed call {index} could not be read from the "
                              f"stopped worker: {error}") from None
        items.append({"index": index, "output": tensors[0], "grads": tensors[1:]})
    return items


def fetched_calls(calls: Any, picks: Sequence[int]) -> list[dict[str, Any]]:
    """The picked calls as the worker sent them back on request (no memory reading here)."""
    if not (isinstance(calls, list) and len(calls) == len(picks)
            and all(isinstance(c, list) and c for c in calls)):
        raise ProtocolViolation("the timed outputs came back malformed")
    return [{"index": i, "output": c[0], "grads": c[1:]} for i, c in zip(picks, calls)]


def _same_digest(t: torch.Tensor, committed: Sequence[float], device: str) -> bool:
    """Whether `committed` is `worker_digest(t)`. Computed on the device the worker used,
    with the same kernels, so an honest digest agrees to the last bit or nearly: the
    tolerance (1e-6 of the L1 norm) is far below what any change of the values moves."""
    got = [float(v) for v in worker_digest(t.to(device))]
    scale = abs(got[0]) if math.isfinite(got[0]) else 0.0
    return all(g == c or (math.isnan(g) and math.isnan(c)) or abs(g - c) <= 1e-6 * scale
               for g, c in zip(got, committed))


def assert_same_inputs(pools: Pools, drawn: Sequence[Sequence[float]], device: str) -> None:
    """Skips the check unless the worker drew the pools this grader drew from the same seeds.

    torch draws the same values for one seed in every process on one device, so a mismatch
    is a broken promise of the platform (or a worker that lies); in either case the values
    it returned cannot be judged, and failing an honest submission is the worst outcome.
    """
    if len(drawn) != len(pools.on_device) or not all(
            _same_digest(t, d, device) for t, d in zip(pools.on_device, drawn)):
        pytest.skip("timing undecided: the worker's random inputs differ from the grader's "
                    "for the same seeds on this device; grade again, and report it if it stays")


def assert_committed(held: Sequence[dict[str, Any]], digests: Sequence[Sequence[Any]],
                      device: str) -> None:
    """Fails unless each fetched call's tensors match the digests its timed request sent.

    Fetched by a later request, an output could have been computed only then (the worker
    runs student code while it serves any request); its digest, committed when the timed
    request returned, could not have been right without its values.
    """
    for item in held:
        index = item["index"]
        committed = digests[index]
        tensors = [item["output"], *item["grads"]]
        if len(tensors) != len(committed):
            raise ProtocolViolation("the timed outputs came back malformed")
        for k, (t, d) in enumerate(zip(tensors, committed)):
            if (t is None) != (d is None):
                raise ProtocolViolation("the timed outputs came back malformed")
            if t is None:
                continue
            t = assert_tensor(t, f"the output of timed call {index}")
            if not _same_digest(t, d, device):
                raise CheckFailed(f"the {_held_name(k)} of timed call {index} was not the one "
                                  "it returned while timed: its values were changed or computed "
                                  "after the timed call")

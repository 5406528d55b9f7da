"""One round's inputs: fresh random pools, the same values for the worker and the reference."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from nnlab.grader.timing.inputs import TimedInput
from nnlab.wire.timed import draw_pool


@dataclass(frozen=True)
class Plan:
    """How every timed call of one measurement is made."""

    args: list[Any]
    """TimedInput or plain values, in call order."""
    kwargs: dict[str, Any]
    """Keyword arguments of every call."""
    backward: bool
    """Whether each call also back-propagates a fixed grad_output."""
    device: str
    """'cpu' or 'cuda'."""
    threads: int
    """torch's thread count on both sides."""

    @property
    def inputs(self) -> list[TimedInput]:
        """The arguments drawn fresh for every call."""
        return [a for a in self.args if isinstance(a, TimedInput)]


class Pools:
    """One round's fresh random pools: the same values for the worker and the reference.

    Each is drawn from its own fresh seed (`draws`), so a side that receives only the seed
    draws the very same values on the same device.
    """

    def __init__(self, plan: Plan, windows: int, rng: random.Random) -> None:
        inputs = plan.inputs
        self.windows = windows
        self.draws = [t.draw_spec(t.numel + t.step * (windows - 1), rng.getrandbits(62),
                                  plan.device) for t in inputs]
        self.on_device = [draw_pool(*d[1:]) for d in self.draws]
        self.cpu = [t.cpu() for t in self.on_device]

    def specs(self, plan: Plan, bases: Sequence[Any]) -> list[Any]:
        """The loop's argument specs: each input a window of `bases[k]` (a pool, its handle
        or its draw spec), other arguments as they are."""
        out, k = [], 0
        for a in plan.args:
            if isinstance(a, TimedInput):
                out.append(["window", bases[k], list(a.shape), a.step, a.requires_grad and plan.backward])
                k += 1
            else:
                out.append(["value", a])
        return out

    def window(self, plan: Plan, index: int) -> list[Any]:
        """The pristine CPU arguments of call `index`."""
        out, k = [], 0
        for a in plan.args:
            if isinstance(a, TimedInput):
                start = index * a.step
                out.append(self.cpu[k][start:start + a.numel].view(a.shape).clone())
                k += 1
            else:
                out.append(a)
        return out

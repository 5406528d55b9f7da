"""What confinement the worker reports it is under: the worker fills it, the grader records it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Confinement:
    """What the operating system let the grader impose on worker processes."""

    level: str
    """'full', 'partial' or 'none'."""
    applied: tuple[str, ...]
    """Mechanisms in force, e.g. ('landlock-abi7', 'netns', 'rlimits', 'no_new_privs')."""
    missing: tuple[str, ...] = ()
    """Mechanisms the grader wanted but this machine does not allow."""

    def describe(self) -> str:
        text = f"{self.level}: " + (", ".join(self.applied) or "nothing")
        if self.missing:
            text += f" (unavailable: {', '.join(self.missing)})"
        return text

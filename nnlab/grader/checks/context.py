"""What a check knows about its run, and the record one submission's checks share with the runner."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from nnlab.grader.exercise import Exercise
from nnlab.results import Outcome, TimingInfo

# Read by name by the runner that sorts timing checks last; set and read only here otherwise.
_TIMING_MARK = "nnlab_timing"


@dataclass
class CheckBoard:
    """One submission's running record, written as its checks finish (so not frozen).

    The runner records every check's outcome; a timing check reads them (its gate) and
    records the figures of its measurement, which the runner puts in the result.
    """

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    """Test id to outcome, for every check that has finished."""
    timings: dict[str, TimingInfo] = field(default_factory=dict)
    """Test id to the figures of its timing measurement."""


@dataclass(frozen=True)
class GradingContext:
    """What a check knows about the run: the exercise, the seeds, the timing device."""

    exercise: Exercise
    """The exercise being graded."""
    seed: int
    """The run's secret seed (recorded in the results)."""
    check_seed: int
    """This check's seed, derived from the run's seed and the check's name."""
    device: str
    """'cuda' when a GPU is present, else 'cpu'."""
    launcher: Any = None
    """The WorkerLauncher that starts this run's workers."""
    source: str = ""
    """The submission's source text (a check may read it, e.g. to look at how it is written)."""
    filename: str = ""
    """The submission's file name as the student sees it."""
    test_id: str = ""
    """The check's own name (its function name); empty outside a check."""
    board: CheckBoard | None = None
    """The submission's shared record; None when a check runs outside nnlab's runner."""


def timing(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a check as a timing check (it is listed as such and scheduled last).

    Apply it as `@timing`, imported under that name: the catalogue finds timing checks by
    reading the decorator's name in the source, without importing the file.
    """
    setattr(fn, _TIMING_MARK, True)
    return fn


def is_timing_check(fn: Any) -> bool:
    """Whether `fn` (a check function, or anything) was marked with `@timing`."""
    return bool(getattr(fn, _TIMING_MARK, False))

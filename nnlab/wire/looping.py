"""Where a timed-out worker was looping, and the short grace later workers give that code."""
from __future__ import annotations

import re
import signal
import sys
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

STACK_FILE = "stack.txt"
"""The file in a worker's scratch folder that faulthandler writes its stacks to."""
STACK_LIMIT = 64 * 1024

_FRAME = re.compile(r'^\s*File "(?P<file>[^"\n]*)", line (?P<line>\d+) in (?P<name>[^\s]+)\s*$')


@dataclass(frozen=True)
class LoopSite:
    """A line of the submission that a worker was running when it ran out of time."""

    function: str
    """The function (or method, lambda, comprehension) it was in, as Python names its code."""
    line: int
    """The line of the submission file it was at."""

    def describe(self) -> str:
        return f"`{self.function}` (line {self.line})"


def parse_stack(text: str, filename: str) -> LoopSite | None:
    """The innermost frame of the submission in a faulthandler dump; None when there is none.

    faulthandler lists each thread most recent call first; the thread running student code
    is not always the one that took the signal (torch's worker threads may), so every
    thread is searched, and the first one that shows the submission wins.
    """
    text = text[:STACK_LIMIT]
    # Only whole lines: the dump may still be being written ("line 25 in forw").
    for line in text[: text.rfind("\n") + 1].splitlines():
        match = _FRAME.match(line)
        if match and match["file"] == filename:
            return LoopSite(match["name"], int(match["line"]))
    return None


GRACE_S = 0.5
"""How long code that already ran out of time may run again before it is stopped."""


class LoopedBefore(BaseException):
    """Raised (in the worker) in code that ran out of time before and ran past its grace again.

    A BaseException, so that the student's own `except Exception` does not swallow it.
    """


class LoopGuard:
    """A profile hook that gives code that looped in an earlier check GRACE_S, not the limit.

    The same function may loop on one input and return at once on another (a `while`
    that never ends on a 1-D input, say): a check that calls it on inputs it handles still
    passes, and one that would loop again is stopped in half a second (a SIGALRM in the
    worker's main thread, which interrupts pure-Python loops too) instead of the limit.
    """

    def __init__(self, filename: str, sites: list[LoopSite], grace_s: float = GRACE_S) -> None:
        self.filename = filename
        self.sites = sites
        self.grace_s = grace_s
        self._verdicts: dict[CodeType, LoopSite | None] = {}
        self._running: list[LoopSite] = []
        """The guarded calls in progress, outermost first (the timer runs for the outermost)."""

    def _site_of(self, code: CodeType) -> LoopSite | None:
        found = self._verdicts.get(code, False)
        if found is False:
            found = None
            if code.co_filename == self.filename:
                lines = [line for _, _, line in code.co_lines() if line is not None]
                found = next((s for s in self.sites if s.function == code.co_name and lines
                              and min(lines + [code.co_firstlineno]) <= s.line <= max(lines)), None)
            self._verdicts[code] = found
        return found  # type: ignore[return-value]  # False, the one-lookup "not seen yet", is replaced above

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        if event not in ("call", "return"):
            return
        site = self._site_of(frame.f_code)
        if site is None:
            return
        if event == "call":
            if not self._running:
                signal.setitimer(signal.ITIMER_REAL, self.grace_s)
            self._running.append(site)
        elif self._running:  # a return, by value or by exception
            self._running.pop()
            if not self._running:
                signal.setitimer(signal.ITIMER_REAL, 0)

    def _expired(self, signum: int, frame: Any) -> None:
        if self._running:
            raise LoopedBefore(self._running[0].describe())

    def install(self) -> None:
        """Arms the hook; where there is no SIGALRM, the grader's short limit does the job."""
        if self.sites and hasattr(signal, "setitimer"):
            signal.signal(signal.SIGALRM, self._expired)
            sys.setprofile(self)


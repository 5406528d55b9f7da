"""Code that ran out of time: where it was, and the short grace later checks give it."""
from __future__ import annotations

import dataclasses
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from nnlab.grader.exercise import EXERCISES_DIR, load_exercise
from nnlab.grader.pipeline import grade_file
from nnlab.grader.session import _read_plain_file
from nnlab.results import Outcome
from nnlab.wire.looping import LoopedBefore, LoopGuard, LoopSite, parse_stack

DUMP = """\
Thread 0x00007f0000000001 (most recent call first):
  File "/usr/lib/python3.11/threading.py", line 320 in wait

Current thread 0x00007f0000000002 (most recent call first):
  File "my_linear.py", line 31 in _step
  File "my_linear.py", line 27 in forward
  File "/site-packages/torch/nn/modules/module.py", line 1520 in _call_impl
  File "<string>", line 1 in <module>
"""

SOURCE = '''\
class MyLinear:
    def forward(self, x):
        return self._step(x)

    def _step(self, x):
        while x > 0:
            x = x
        return [i for i in range(x + 3)]

    def other(self):
        return [i for i in range(3)]


def _step(x):  # the same name elsewhere in the file: a different function
    return x
'''


def test_parse_stack_finds_the_innermost_line_of_the_submission() -> None:
    """Is the innermost frame of the student's own file chosen, whichever thread shows it?"""
    assert parse_stack(DUMP, "my_linear.py") == LoopSite("_step", 31)
    assert parse_stack(DUMP, "focal_loss.py") is None
    assert parse_stack("", "my_linear.py") is None
    assert parse_stack("garbage\n" * 10, "my_linear.py") is None


def _loaded() -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(SOURCE, "my_linear.py", "exec"), namespace)
    return namespace


@pytest.fixture
def guarded():
    """Leaves no profile hook or SIGALRM handler behind in the test process."""
    yield
    sys.setprofile(None)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)


def test_guard_stops_the_looping_code_after_its_grace_only(guarded) -> None:
    """Does the guard stop the method that looped before, reached through its caller, once
    its grace is over, while quick calls of it, other code and a function of the same name
    elsewhere in the file run as usual?"""
    namespace = _loaded()
    layer = namespace["MyLinear"]()  # type: ignore[operator]
    guard = LoopGuard("my_linear.py", [LoopSite("_step", 6)], grace_s=0.2)
    guard.install()
    assert layer.forward(0) == [0, 1, 2] and layer.forward(-2) == [0]  # returns at once
    assert layer.other() == [0, 1, 2]
    assert namespace["_step"](5) == 5  # type: ignore[operator]
    with pytest.raises(LoopedBefore, match=r"`_step` \(line 6\)"):
        layer.forward(1)
    assert guard._running == [] and layer.forward(0) == [0, 1, 2]  # the hook stays armed


def test_guard_matches_code_of_the_submission_file_only(guarded) -> None:
    """Is a function of the same name and lines in another file left to run its course?"""
    namespace: dict[str, object] = {}
    exec(compile(SOURCE, "helpers.py", "exec"), namespace)
    guard = LoopGuard("my_linear.py", [LoopSite("_step", 6)], grace_s=0.05)
    guard.install()
    assert namespace["MyLinear"]()._step(0) == [0, 1, 2]  # type: ignore[operator]
    assert guard._running == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_planted_fifo_or_link_reads_as_nothing(tmp_path: Path) -> None:
    """Does a FIFO or a symlink planted where the stack dump is read give nothing, at once?"""
    fifo, link, plain = tmp_path / "fifo", tmp_path / "link", tmp_path / "plain"
    os.mkfifo(fifo)
    plain.write_text("x" * 100)
    link.symlink_to(plain)
    started = time.monotonic()
    assert _read_plain_file(str(fifo), 1000) == ""
    assert _read_plain_file(str(link), 1000) == ""
    assert time.monotonic() - started < 5
    assert _read_plain_file(str(plain), 10) == "x" * 10


LOOPING_FORWARD = re.sub(
    r"(\n    def forward\(.*\n)", r"\1        while True:\n            pass\n",
    (Path(__file__).parent.parent / "nnlab" / "solutions" / "my_linear.py").read_text(), count=1)


def test_looping_forward_is_located_and_stopped_early_later(launcher) -> None:
    """Does the first check that reaches a looping forward name its line, and do the later
    checks that reach it stop after the short grace with the reason, while checks that
    never call it still pass?"""
    exercise = dataclasses.replace(load_exercise(EXERCISES_DIR / "my_linear"), check_seconds=3)
    line = LOOPING_FORWARD.splitlines().index("        while True:") + 1
    result = grade_file(exercise, LOOPING_FORWARD, "my_linear.py", launcher, seed=5,
                        include_hidden=True).result
    checks = {c.test_id: c for c in result.checks}
    first = result.checks[0]
    assert first.outcome is Outcome.TIMEOUT and "3 s limit" in first.message
    # `while True: pass` is at one of its two lines, depending on the moment of the dump.
    assert re.search(rf"your code was at `forward` \(line ({line}|{line + 1})\)", first.message)
    stopped = [c for c in result.checks[1:] if c.outcome is Outcome.TIMEOUT]
    assert len(stopped) >= 5
    assert all("ran out of time in an earlier check of this exercise, and did not return "
               "within the 0.5 s" in c.message for c in stopped), [c.message for c in stopped]
    assert checks["test_parameters"].outcome is Outcome.PASSED
    assert checks["test_repr"].outcome is Outcome.PASSED


LOOPING_ON_VECTORS = re.sub(
    r"(\n    def forward\(.*\n)", r"\1        while x.dim() == 1:\n            pass\n",
    (Path(__file__).parent.parent / "nnlab" / "solutions" / "my_linear.py").read_text(), count=1)


def test_code_that_loops_on_one_input_still_earns_the_checks_it_passes(launcher) -> None:
    """A forward that never returns on a 1-D input but is right on batches: after the check
    that times out, do the later checks that call it on batches still pass?"""
    exercise = dataclasses.replace(load_exercise(EXERCISES_DIR / "my_linear"), check_seconds=3)
    result = grade_file(exercise, LOOPING_ON_VECTORS, "my_linear.py", launcher, seed=5,
                        include_hidden=True).result
    checks = {c.test_id: c for c in result.checks}
    timed_out = [c.test_id for c in result.checks if c.outcome is Outcome.TIMEOUT]
    assert timed_out == ["test_leading_dims"], [(c.test_id, c.message) for c in result.checks]
    assert "your code was at `forward`" in checks["test_leading_dims"].message
    for later in ("test_noncontiguous_and_dtypes", "test_gradients", "test_repr"):
        assert checks[later].outcome is Outcome.PASSED, checks[later].message

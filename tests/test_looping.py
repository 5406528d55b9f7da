"""Code that ran out of time: where it was, and the later checks that refuse to run it again."""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from pathlib import Path

import pytest

from nnlab.grader.exercise import EXERCISES_DIR, load_exercise
from nnlab.grader.pipeline import grade_one
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


def test_guard_refuses_only_the_code_that_looped() -> None:
    """Does the guard stop a call into the looping method, through its caller, and let other
    code run, including a function of the same name elsewhere in the file?"""
    namespace = _loaded()
    layer = namespace["MyLinear"]()  # type: ignore[operator]
    LoopGuard("my_linear.py", [LoopSite("_step", 6)]).install()
    try:
        assert layer.other() == [0, 1, 2]
        assert namespace["_step"](5) == 5  # type: ignore[operator]
        with pytest.raises(LoopedBefore, match=r"`_step` \(line 6\)"):
            layer.forward(1)
    finally:
        sys.setprofile(None)


def test_guard_matches_code_of_the_submission_file_only() -> None:
    """Is a function of the same name and lines in another file left alone?"""
    namespace: dict[str, object] = {}
    exec(compile(SOURCE, "helpers.py", "exec"), namespace)
    LoopGuard("my_linear.py", [LoopSite("_step", 6)]).install()
    try:
        assert namespace["MyLinear"]()._step(0) == [0, 1, 2]  # type: ignore[operator]
    finally:
        sys.setprofile(None)


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


def test_looping_forward_is_located_and_not_run_again(launcher) -> None:
    """Does the first check that reaches a looping forward name its line, and do the later
    checks that reach it time out at once, while checks that never call it still pass?"""
    exercise = dataclasses.replace(load_exercise(EXERCISES_DIR / "my_linear"), check_seconds=3)
    line = LOOPING_FORWARD.splitlines().index("        while True:") + 1
    result = grade_one(exercise, LOOPING_FORWARD, "my_linear.py", launcher, seed=5,
                       include_hidden=True).result
    checks = {c.test_id: c for c in result.checks}
    first = result.checks[0]
    assert first.outcome is Outcome.TIMEOUT and "3 s limit" in first.message
    # `while True: pass` is at one of its two lines, depending on the moment of the dump.
    assert re.search(rf"your code was at `forward` \(line ({line}|{line + 1})\)", first.message)
    refused = [c for c in result.checks[1:] if c.outcome is Outcome.TIMEOUT]
    assert len(refused) >= 5
    assert all("not run: your `forward`" in c.message for c in refused)
    # Each refused check costs a worker start, not the 3 s limit (nor the 2 s short leash).
    assert sum(c.duration_s for c in refused) < 5
    assert checks["test_parameters"].outcome is Outcome.PASSED
    assert checks["test_repr"].outcome is Outcome.PASSED

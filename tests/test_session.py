"""The grader's side of one worker: requests with deadlines, faults with their causes, remote objects."""
from __future__ import annotations

import time

import pytest
import torch

from nnlab.errors import BannedApiUsed, LoadTimeout, StudentCodeError, WorkerCrashed, WorkerTimeout
from nnlab.grader.launcher import WorkerLauncher, wait_for_killed_workers
from nnlab.grader.session import Remote, WorkerSession
from nnlab.wire.confinement import Confinement

_SOURCE = '''
import os
import torch


class Box:
    def __init__(self, value):
        self.value = value


def unbox(box):
    return box.value


def fail(box):
    raise ValueError(f"cannot use {box.value}")


def spin():
    while True:
        pass


def leave():
    os._exit(3)


def squash(x):
    return torch.sigmoid(x)
'''


def _session(launcher, source: str = _SOURCE, limit_s: float = 20.0, banned: list[str] | None = None) -> WorkerSession:
    return WorkerSession(launcher, source, "sample.py", banned or [], [], limit_s)


def test_values_come_back_and_objects_stay_in_the_worker(launcher) -> None:
    """Do tensors and plain values come back as themselves, and other objects as read-only Remotes
    that can be passed back to the worker?"""
    session = _session(launcher)
    try:
        box = session.root.Box(torch.arange(3))
        assert isinstance(box, Remote) and repr(box) == "<remote Box Box(<(3,) tensor>)>"
        assert torch.equal(box.value, torch.arange(3))
        assert torch.equal(session.root.unbox(box), torch.arange(3))
        with pytest.raises(AttributeError, match="read-only"):
            box.value = 1
    finally:
        session.close()


def test_a_student_exception_names_the_call_type_and_line(launcher) -> None:
    """Is an exception in student code a StudentCodeError naming the call (a worker object
    by its type), the exception and the student's own line?"""
    session = _session(launcher)
    try:
        box = session.root.Box(7)
        with pytest.raises(StudentCodeError) as error:
            session.root.fail(box)
    finally:
        session.close()
    text = str(error.value)
    assert text.startswith("running fail(<Box>): ValueError: cannot use 7"), text
    assert "sample.py, line 16, in fail" in text
    assert "ValueError" in error.value.mro[0]  # type: ignore[attr-defined]


def test_a_call_with_tensors_in_containers_is_named_by_their_shapes(launcher) -> None:
    """Does a failing call's message name tensors inside a dict, list or dataclass argument by
    shape (as it names a bare tensor), not by the first characters of their values?"""
    from nnlab.grader.checks import RequiresGrad

    session = _session(launcher)
    state = {"weight": torch.ones(3, 4), "bias": torch.ones(3)}
    try:
        with pytest.raises(StudentCodeError) as by_dict:
            session.root.fail(state)
        with pytest.raises(StudentCodeError) as by_list:
            session.root.fail([torch.ones(2)], scale=RequiresGrad(torch.ones(5)))
    finally:
        session.close()
    assert str(by_dict.value).startswith("running fail({'weight': <(3, 4) tensor>,...)"), str(by_dict.value)
    assert str(by_list.value).startswith("running fail([<(2,) tensor>], scale=RequiresGrad(tensor=<(5,) t...)")
    assert "tensor([" not in str(by_dict.value) + str(by_list.value)


def test_an_endless_call_is_a_timeout_and_ends_the_worker(launcher) -> None:
    """Does a call that never returns become a WorkerTimeout naming the limit, with the worker gone?"""
    session = _session(launcher, limit_s=1.0)
    with pytest.raises(WorkerTimeout, match=r"no answer within the 1 s limit while running spin\(\)"):
        session.root.spin()
    assert session.process is None
    with pytest.raises(WorkerCrashed, match="the worker is gone"):
        _ = session.root.unbox


def test_a_worker_that_exits_is_named_as_such(launcher) -> None:
    """Is a worker that exits in the middle of a call reported with its exit status?"""
    session = _session(launcher)
    with pytest.raises(WorkerCrashed, match=r"exited with status 3 while running leave\(\)"):
        session.root.leave()
    assert session.process is None


def test_a_file_that_never_loads_is_a_load_timeout(launcher) -> None:
    """Is import-time code that never finishes a LoadTimeout, with nothing left behind?"""
    with pytest.raises(LoadTimeout, match="while loading your file"):
        _session(launcher, "while True:\n    pass\n", limit_s=1.0)
    wait_for_killed_workers()  # killed at once, reaped in the background
    assert list(launcher.scratch_root.iterdir()) == []


def test_a_banned_function_called_at_run_time_fails_the_request(launcher) -> None:
    """Is a banned torch function called by student code reported as such, naming it?"""
    session = _session(launcher, banned=["torch.sigmoid"])
    try:
        with pytest.raises(BannedApiUsed, match=r"running squash\(<\(2,\) tensor>\): your code called "
                                                r"torch.sigmoid, which this exercise bans"):
            session.root.squash(torch.zeros(2))
    finally:
        session.close()


def test_a_missing_name_is_said_plainly(launcher) -> None:
    """Is reading a name the file does not define a plain 'does not define' message?"""
    session = _session(launcher)
    try:
        with pytest.raises(StudentCodeError, match="^the submission does not define `MyLinear`$"):
            _ = session.root.MyLinear
    finally:
        session.close()


def test_a_fresh_worker_has_torchs_lazy_imports_paid(launcher) -> None:
    """Are the modules optimizers, schedulers and checkpointing import on first use already
    loaded in a fresh worker, so no check (and no timed call) pays for them?"""
    session = _session(launcher)
    try:
        loaded = session.eval("[m in __import__('sys').modules for m in names]",
                              names=["torch._dynamo", "torch.utils.checkpoint", "torch.optim.lr_scheduler"])
    finally:
        session.close()
    assert loaded == [True, True, True]


def test_the_worker_says_its_confinement_as_a_record(launcher) -> None:
    """Does the worker's first message carry its confinement as the Confinement record itself
    (through the codec, not a dict rebuilt by hand)?"""
    session = _session(launcher)
    try:
        confinement = session.confinement
    finally:
        session.close()
    assert isinstance(confinement, Confinement) and confinement.level in ("full", "partial", "none")
    assert isinstance(confinement.applied, tuple) and all(isinstance(a, str) for a in confinement.applied)


def _folders(launcher: WorkerLauncher, count: int) -> int:
    """The number of workers' scratch folders, once it reaches `count` (or after 30 s)."""
    deadline = time.monotonic() + 30
    while len(list(launcher.scratch_root.iterdir())) != count and time.monotonic() < deadline:
        time.sleep(0.02)
    return len(list(launcher.scratch_root.iterdir()))


def test_a_spare_worker_is_fresh_and_none_outlives_the_last_check() -> None:
    """With a worker started ahead (as for `nnlab check`), does each session get a fresh worker
    of its own that loaded only its own file, is a spare started while more checks are expected
    and none before the last, and is nothing left once the sessions are closed?"""
    launcher = WorkerLauncher(spare=True)
    first = WorkerSession(launcher, "value = 'first'\n", "a.py", [], [], 30)
    assert _folders(launcher, 2) == 2  # its own, and the spare started ahead
    second = WorkerSession(launcher, "value = 'second'\n", "b.py", [], [], 30)
    assert _folders(launcher, 3) == 3  # the spare was handed out, and another one started
    launcher.more_expected = False  # the last check: no spare after it
    third = WorkerSession(launcher, "other = 1\n", "c.py", [], [], 30)
    try:
        assert [first.root.value, second.root.value] == ["first", "second"]
        with pytest.raises(StudentCodeError, match="does not define `value`"):
            _ = third.root.value  # loaded only its own file, not the previous one's
        pids = {s.process.pid for s in (first, second, third) if s.process is not None}
        assert len(pids) == 3
        assert first.confinement == second.confinement == third.confinement
        time.sleep(0.3)
        assert _folders(launcher, 3) == 3  # the three in use, no fourth
    finally:
        for session in (first, second, third):
            session.close()
    wait_for_killed_workers()
    assert list(launcher.scratch_root.iterdir()) == []

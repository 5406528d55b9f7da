"""The wire's schema: one record per request and reply, checked by the codec; a request the
worker does not accept is the grader's bug (an internal error), never the student's."""
from __future__ import annotations

import dataclasses
import json
import struct
from typing import Any

import pytest
import torch

from nnlab.errors import BadRequest, ProtocolViolation, StudentCodeError
from nnlab.grader.exercise import get_exercise
from nnlab.grader.pipeline import grade_file
from nnlab.grader.session import WorkerSession
from nnlab.results import Outcome
from nnlab.wire import codec, messages
from nnlab.wire.confinement import Confinement
from nnlab.wire.looping import LoopSite
from nnlab.worker.server import Worker


def _tree(message: bytes) -> tuple[dict[str, Any], bytes]:
    (size,) = struct.unpack_from("<Q", message)
    return json.loads(message[8:8 + size]), message[8 + size:]


def _forge(header: dict[str, Any], buffers: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + buffers


def _renamed(request: Any, old: str, new: str) -> bytes:
    header, buffers = _tree(codec.encode(request))
    for pair in header["tree"]["fields"]:
        if pair[0] == old:
            pair[0] = new
    return _forge(header, buffers)


def test_every_request_round_trips_as_its_own_record() -> None:
    """Does each request (and the worker's hello) come out of the codec as the same record,
    worker objects as handles, nested records (a loop site, a confinement) included?"""
    target = codec.Handle(3, "MyLinear")
    for request in (
        messages.Load("x = 1\n", "my_linear.py", ["torch.sigmoid"], [], 5, (LoopSite("f", 2),)),
        messages.Get(codec.Handle(0, "module"), "MyLinear"),
        messages.Call(target, [torch.ones(2), (1, 2.5)], {"bias": None}, names=("x",)),
        messages.Vjp(target, [torch.ones(2)], {}, [torch.ones(2), None], None),
        messages.Eval("a + 1", {"a": 1}),
        messages.Store([torch.zeros(3)], [codec.Handle(4, "Tensor")]),
        messages.TimeLoop(target, [["value", 1]], {}, 3, 0, False, None, 1, True, False),
        messages.Hello(Confinement("partial", ("rlimits",), ("landlock",)), 77),
    ):
        back = codec.decode(codec.encode(request))
        assert type(back) is type(request)
        for field in dataclasses.fields(request):
            mine, theirs = getattr(request, field.name), getattr(back, field.name)
            assert repr(mine) == repr(theirs), field.name


@pytest.mark.parametrize(("message", "says"), [
    (lambda: _renamed(messages.Get(codec.Handle(0, "module"), "x"), "name", "nmae"),
     "Get with fields missing ['name'] or unexpected ['nmae']"),
    (lambda: codec.encode(messages.Get(codec.Handle(0, "module"), 5)),  # type: ignore[arg-type]
     "Get.name is not str"),
    (lambda: codec.encode(messages.Get(7, "x")), "Get.target is not Ref"),  # type: ignore[arg-type]
    (lambda: codec.encode(messages.Store([(1.0, 2.0)], [])),  # type: ignore[list-item]
     "Store.tensors is not list[torch.Tensor]"),
    (lambda: _forge({"tree": {"__record__": "Launch", "fields": []}, "sizes": []}, b""),
     "unknown record 'Launch'"),
])
def test_the_codec_refuses_a_record_off_its_schema(message: Any, says: str) -> None:
    """Is a record with a renamed, mistyped or unknown field, or of an unknown kind, a
    ProtocolViolation that names what is wrong?"""
    with pytest.raises(ProtocolViolation) as refused:
        codec.decode(message())
    assert says in str(refused.value)


def test_every_request_has_a_handler_and_a_reply() -> None:
    """Does the worker serve every request record, each with its own reply record?"""
    worker = Worker()
    requests = [k for k in messages.RECORDS.values() if issubclass(k, messages.Request)]
    assert len(requests) == 9
    for kind in requests:
        assert kind.Reply in messages.NAMES, kind
        assert worker.handler(object.__new__(kind)).__name__ == f"op_{_snake(kind.__name__)}"
    with pytest.raises(ProtocolViolation, match="Value is not a request"):
        worker.handler(messages.Value(1))


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


@dataclasses.dataclass(frozen=True)
class _OldGet(messages.Request):
    """Get as a grader with a renamed field would send it."""

    Reply = messages.Value
    target: Any
    attribute: str


def test_a_request_the_worker_refuses_is_a_bad_request_not_the_students(launcher,
                                                                        monkeypatch) -> None:
    """Does a real worker refuse a request with a renamed field, an unknown operation or a
    record that is no request, before any student code runs, and the grader raise BadRequest
    (not a StudentCodeError) naming the fault, with the worker still serving?"""
    session = WorkerSession(launcher, "def f(x):\n    return x + 1\n", "sample.py", [], [], 20.0)
    try:
        monkeypatch.setitem(messages.NAMES, _OldGet, "Get")
        with pytest.raises(BadRequest, match=r"refused _OldGet while reading f: Get with fields "
                                             r"missing \['name'\] or unexpected \['attribute'\]"):
            session.request(_OldGet(codec.Handle(0, "module"), "f"), "reading f")
        monkeypatch.setitem(messages.NAMES, _OldGet, "Fetch")
        with pytest.raises(BadRequest, match="unknown record 'Fetch'"):
            session.request(_OldGet(codec.Handle(0, "module"), "f"), "reading f")
        with pytest.raises(BadRequest, match="Value is not a request"):
            session.request(messages.Value(1), "sending a value")  # type: ignore[arg-type]
        assert not isinstance(BadRequest("x"), StudentCodeError)
        assert session.root.f(1) == 2
    finally:
        session.close()


def test_a_grader_that_breaks_the_protocol_records_internal_errors(launcher, monkeypatch) -> None:
    """When the grader's Load request does not match the worker's schema, is every check an
    internal grader error (listed for `nnlab verify`), not a student error?"""
    monkeypatch.setitem(messages.NAMES, messages.Load, "LoadV0")
    exercise = get_exercise("my_linear")
    graded = grade_file(exercise, exercise.solution_path.read_text(encoding="utf-8"), "my_linear.py",
                        launcher, seed=3, include_hidden=False)
    checks = graded.result.checks
    assert checks and all(c.outcome is Outcome.ERROR for c in checks)
    assert set(graded.internal_errors) == {c.test_id for c in checks}
    assert all("internal grader error (BadRequest" in c.message for c in checks), checks[0].message


def test_every_reply_round_trips_as_its_own_record() -> None:
    """Does each reply record (a vjp's gradients and a timed loop's, among them) come out of the
    codec as the same record, its worker objects as handles?"""
    kept = codec.Handle(9, "list")
    for reply in (
        messages.Value([1, "a"]), messages.Loaded(["f"]), messages.Called(2.0, [("x", "scaled")], None),
        messages.Gradients(torch.ones(2), [torch.ones(2), None], {"weight": torch.zeros(2)}),
        messages.Text("MyLinear()"), messages.Named({"bias": torch.ones(1)}),
        messages.Stored([codec.Handle(4, "Tensor")]),
        messages.Timed(1, kept, [[None]], [[[1.0, 2.0]]], [[3.0, 4.0]]),
        messages.Timed(1, kept, [[[1, [2], [1], 0]]], None, None),
    ):
        back = codec.decode(codec.encode(reply))
        assert type(back) is type(reply)
        for field in dataclasses.fields(reply):
            assert repr(getattr(reply, field.name)) == repr(getattr(back, field.name)), field.name
    requests = [k for k in messages.RECORDS.values() if issubclass(k, messages.Request)]
    assert {messages.Vjp.Reply, messages.TimeLoop.Reply} == {messages.Gradients, messages.Timed}
    assert all(dataclasses.is_dataclass(k.Reply) for k in requests)


def test_the_grader_reads_gradients_and_timed_loops_as_records(launcher) -> None:
    """Does the grader's session hand a vjp's and a timed loop's replies on as their records
    (not dicts), and the check API read them as such?"""
    from nnlab.grader.checks import RequiresGrad, vjp

    session = WorkerSession(launcher, "def f(x):\n    return x * 2\n", "sample.py", [], [], 20.0)
    try:
        f = session.root.f
        gradients = session.vjp(f, (RequiresGrad(torch.ones(3)),), [torch.ones(3)])
        assert isinstance(gradients, messages.Gradients)
        assert torch.equal(gradients.input_grads[0], torch.full((3,), 2.0))
        output, grads, params = vjp(f, [torch.ones(3)], [torch.ones(3)])
        assert torch.equal(output, torch.full((3,), 2.0)) and params == {}
        assert grads[0] is not None and torch.equal(grads[0], torch.full((3,), 2.0))
        [pool] = session.store([torch.randn(40)])
        timed = session.time_loop(f, [["window", pool, [8], 8, False]], {}, 3, digests=True)
        assert isinstance(timed, messages.Timed)
        assert len(timed.where) == 3 and timed.digests is not None and len(timed.digests) == 3
        assert timed.drawn == [] and timed.threads >= 1
    finally:
        session.close()

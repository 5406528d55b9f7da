"""The wire format: only plain data and exact tensors come out; anything forged is refused."""
from __future__ import annotations

import json
import struct

import pytest
import torch

from nnlab.errors import ProtocolViolation
from nnlab.wire import codec


def test_round_trip_keeps_values_dtypes_and_shapes() -> None:
    """Do tensors of every exchanged dtype, numbers and containers come back equal?"""
    value = {"a": [torch.randn(3, 4), torch.arange(5), torch.tensor([True, False])],
             "b": (1, 2.5, float("nan"), "text", None), "c": torch.randn(2, 2).to(torch.bfloat16),
             "d": torch.randn(3, dtype=torch.complex64), "e": torch.empty(0, 3)}
    back = codec.decode(codec.encode(value))
    for got, expected in zip(back["a"], value["a"]):
        assert type(got) is torch.Tensor and torch.equal(got, expected)
    assert back["b"][:2] == (1, 2.5) and back["b"][2] != back["b"][2] and back["b"][3:] == ("text", None)
    assert back["c"].dtype == torch.bfloat16 and torch.equal(back["c"], value["c"])
    assert torch.equal(back["d"], value["d"]) and back["e"].shape == (0, 3)


def test_tensor_subclasses_arrive_as_plain_tensors() -> None:
    """Does a Parameter (or any subclass) arrive as an exact torch.Tensor?"""
    back = codec.decode(codec.encode(torch.nn.Parameter(torch.ones(2))))
    assert type(back) is torch.Tensor


def test_non_contiguous_request_is_honoured() -> None:
    """Does a NonContiguous input arrive as a non-contiguous view with the same values?"""
    x = torch.randn(4, 5)
    back = codec.decode(codec.encode(codec.NonContiguous(x)))
    assert not back.is_contiguous() and torch.equal(back, x)


def _forge(tree: object, buffers: list[bytes]) -> bytes:
    header = json.dumps({"tree": tree, "sizes": [len(b) for b in buffers]}).encode()
    return struct.pack("<Q", len(header)) + header + b"".join(buffers)


@pytest.mark.parametrize("tree, buffers", [
    ({"__tensor__": 0, "dtype": "float32", "shape": [4]}, [b"\0" * 8]),        # size mismatch
    ({"__tensor__": 0, "dtype": "object", "shape": [1]}, [b"\0" * 8]),         # unknown dtype
    ({"__tensor__": 3, "dtype": "float32", "shape": [1]}, [b"\0" * 4]),        # missing buffer
    ({"__tensor__": 0, "dtype": "float32", "shape": [-1]}, [b"\0" * 4]),       # negative dim
    ({"__pickle__": "gASVAAAAAAAAAAA="}, []),                                    # unknown node
])
def test_forged_messages_are_refused(tree: object, buffers: list[bytes]) -> None:
    """Is a forged or malformed message a ProtocolViolation rather than an object?"""
    with pytest.raises(ProtocolViolation):
        codec.decode(_forge(tree, buffers))


def test_unknown_objects_cannot_be_sent_without_a_handle() -> None:
    """Does the grader refuse to send an arbitrary object it cannot encode?"""
    with pytest.raises(ProtocolViolation):
        codec.encode(object())


def test_worker_replies_carry_tensor_metadata_beside_plain_tensors() -> None:
    """Does each tensor of a worker's reply come back a plain tensor, with requires_grad, grad_fn
    and whether it is (or views) an input of the call on record beside it?"""
    x = torch.randn(4, requires_grad=True)
    reply = {"graph": x * 2, "input": x, "view": x[1:], "fresh": torch.ones(2)}
    back = codec.decode(codec.encode(reply, inputs=[("x", x)]))
    meta = {k: codec.tensor_meta(v) for k, v in back.items()}
    assert all(type(v) is torch.Tensor and not v.requires_grad for v in back.values())
    assert meta["graph"] == codec.TensorMeta(True, True, None, None)
    assert meta["input"] == codec.TensorMeta(True, False, "x", "x")
    assert meta["view"].shares_storage_with == "x" and meta["view"].is_input is None
    assert meta["fresh"] == codec.TensorMeta(False, False, None, None)


def test_metadata_comes_only_from_the_worker_encoder() -> None:
    """Does a grader message (no inputs) carry no metadata, a copy of a decoded tensor lose it, and a
    forged or malformed metadata record get refused?"""
    plain = codec.decode(codec.encode(torch.ones(2)))
    assert codec.tensor_meta(plain) is None
    described = codec.decode(codec.encode(torch.ones(2), inputs=[]))
    assert codec.tensor_meta(described) is not None and codec.tensor_meta(described.clone()) is None
    with pytest.raises(ProtocolViolation):
        codec.decode(_forge({"__tensor__": 0, "dtype": "float32", "shape": [1],
                             "meta": {"requires_grad": "no", "grad_fn": False}}, [b"\0" * 4]))


def test_a_subclass_cannot_answer_for_its_own_flags() -> None:
    """Is a Tensor subclass that claims requires_grad=False still described as requiring grad?"""
    class Liar(torch.Tensor):
        @property
        def requires_grad(self) -> bool:  # type: ignore[override]
            return False

    liar = (torch.randn(3, requires_grad=True) * 2).as_subclass(Liar)
    back = codec.decode(codec.encode(liar, inputs=[]))
    meta = codec.tensor_meta(back)
    assert meta is not None and meta.requires_grad and meta.has_grad_fn

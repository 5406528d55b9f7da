"""Grading accuracy: boundary values in every discrete draw, varied non-contiguous layouts,
audits on every call of an exercise that promises to leave inputs alone."""
from __future__ import annotations

import ast
import json
import re
import struct
from pathlib import Path

import pytest
import torch

from nnlab.errors import ProtocolViolation
from nnlab.grader.checks import noncontig, randint
from nnlab.grader.checks.asserts import noncontig_layouts
from nnlab.grader.exercise import EXERCISES_DIR, get_exercise
from nnlab.grader.pipeline import grade_file
from nnlab.results import Outcome
from nnlab.wire.codec import decode, encode

MUTANTS = Path(__file__).parent / "mutants"
# A statement sentence promising that the caller's inputs are left alone.
_LEFT_ALONE = re.compile(r"as it was|as they were|left untouched|not modified|do not modify|"
                         r"do not write into|\*\*pure\*\*", re.IGNORECASE)


def _check_files() -> list[Path]:
    return sorted(EXERCISES_DIR.glob("*/test_*.py"))


def _sent(t: torch.Tensor, **kwargs: bool) -> torch.Tensor:
    """What the worker receives for noncontig(t): the wire's own round trip."""
    return decode(encode(noncontig(t, **kwargs)))


@pytest.mark.parametrize("shape", [(4, 6), (24,), (3, 2, 5), (1, 1), (1,), (2,)])
def test_randint_always_draws_both_boundaries(shape: tuple[int, ...]) -> None:
    """Does every draw hold low and high - 1 (a padding_idx=0 embedding is caught on every seed)?"""
    for seed in range(300):
        torch.manual_seed(seed)
        ids = randint(0, 20, *shape)
        assert ids.dtype == torch.int64 and tuple(ids.shape) == shape
        assert int(ids.min()) >= 0 and int(ids.max()) <= 19
        values = set(ids.view(-1).tolist())
        if ids.numel() >= 2:
            assert {0, 19} <= values, (seed, ids)
        else:
            assert values <= {0, 19}, (seed, ids)


def test_no_check_draws_discrete_values_without_their_boundaries() -> None:
    """Does no check file call torch.randint (which may miss 0 and max) instead of randint?"""
    found = []
    for path in _check_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("randint", "bernoulli", "multinomial") \
                    and isinstance(node.value, ast.Name) and node.value.id == "torch":
                found.append(f"{path.parent.name}/{path.name}:{node.lineno} torch.{node.attr}")
    assert not found, found


@pytest.mark.parametrize("shape", [(5, 6), (3, 4, 6), (2, 3, 7, 6), (6, 2, 3, 3), (2, 3, 4, 5, 2), (4, 1, 3)])
def test_noncontig_layouts_break_every_view_merge(shape: tuple[int, ...]) -> None:
    """Is each layout non-contiguous, value-preserving, fatal to a merging .view, fine for .reshape?"""
    seen = set()
    for seed in range(40):
        torch.manual_seed(seed)
        x = torch.randn(shape)
        got = _sent(x)
        assert torch.equal(got, x) and not got.is_contiguous()
        seen.add(got.stride())
        with pytest.raises(RuntimeError):
            got.view(-1)
        if sum(d > 1 for d in shape[1:]) >= 2:  # flattening from dim 1 merges something
            with pytest.raises(RuntimeError):
                got.view(shape[0], -1)
        assert torch.equal(got.reshape(shape[0], -1), x.reshape(shape[0], -1))
        torch.manual_seed(seed)
        assert _sent(torch.randn(shape)).stride() == got.stride()  # the same seed, the same layout
    assert len(seen) >= 3, seen  # varied: not one kind of non-contiguous


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.bool, torch.int32, torch.complex64])
def test_noncontig_takes_every_dtype_the_wire_carries(dtype: torch.dtype) -> None:
    """Does noncontig pick a layout for any dtype (bfloat16 has no numpy twin), values kept?"""
    x = (torch.randn(3, 4) * 3).to(dtype)
    got = _sent(x)
    assert torch.equal(got, x) and not got.is_contiguous()


def test_noncontig_layouts_include_transpose_and_channels_last() -> None:
    """Are a transpose, an inner-dimension stride and channels_last among the 4-D layouts (and
    channels_last left out on request)?"""
    layouts = noncontig_layouts((2, 3, 4, 5))
    orders = {order for order, _ in layouts}
    assert {(3, 2, 1, 0), (0, 2, 3, 1)} <= orders
    assert any(step[-1] == 1 and max(step) == 2 for _, step in layouts)
    assert (0, 2, 3, 1) not in {order for order, _ in noncontig_layouts((2, 3, 4, 5), channels_last=False)}
    assert not any(_sent(torch.randn(2, 3, 4, 5), channels_last=False).is_contiguous(
        memory_format=torch.channels_last) for _ in range(20))


@pytest.mark.parametrize("layout", [{"order": [0, 0], "step": [1, 1]}, {"order": [1, 0], "step": [1]},
                                    {"order": ["a", 0], "step": [1, 1]}, {"order": [1, 0], "step": [5, 1]},
                                    {"order": [1, 0], "step": [4, 8]}, "yes", 1])
def test_malformed_layout_is_refused(layout: object) -> None:
    """Does the wire refuse a layout it cannot build (a worker may send anything)?"""
    def message(noncontig_field: object) -> bytes:
        tree = {"__tensor__": 0, "dtype": "float32", "shape": [2, 3], "device": "cpu",
                "noncontig": noncontig_field}
        header = json.dumps({"tree": tree, "sizes": [24]}).encode()
        return struct.pack("<Q", len(header)) + header + bytes(24)

    assert decode(message({"order": [1, 0], "step": [1, 2]})).stride() == (1, 4)
    with pytest.raises(ProtocolViolation):
        decode(message(layout))


def test_exercises_promising_untouched_inputs_audit_every_call() -> None:
    """Does every exercise whose statement leaves the inputs alone audit every call (AUDIT_INPUTS)?"""
    wrong = []
    for folder in sorted(p for p in EXERCISES_DIR.iterdir() if (p / "statement.md").is_file()):
        statement = " ".join((folder / "statement.md").read_text(encoding="utf-8").split())
        promises = bool(_LEFT_ALONE.search(statement))
        promises = promises and folder.name != "init_weights"  # fills its tensor in place by contract
        for name in ("test_public.py", "test_hidden.py"):
            source = (folder / name).read_text(encoding="utf-8")
            if promises != bool(re.search(r"^AUDIT_INPUTS = True$", source, re.MULTILINE)):
                wrong.append(f"{folder.name}/{name}: statement promises {promises}")
    assert not wrong, wrong


@pytest.mark.slow
@pytest.mark.parametrize("seed", [5, 7, 8])  # seeds on which a random draw missed id 0
def test_padding_idx_embedding_caught_on_every_seed(seed: int, launcher) -> None:
    """Is an embedding built with padding_idx=0 caught by the gradient check whatever the seed?"""
    path = MUTANTS / "bilstm_classifier" / "embedding_padding_idx.py"
    exercise = get_exercise("bilstm_classifier")
    result = grade_file(exercise, path.read_text(encoding="utf-8"), "bilstm_classifier.py",
                        launcher, seed=seed, include_hidden=True).result
    by_id = {c.test_id: c for c in result.checks}
    assert by_id["test_gradients"].outcome is not Outcome.PASSED
    assert all(c.outcome is Outcome.PASSED for c in result.checks if c.test_id != "test_gradients")

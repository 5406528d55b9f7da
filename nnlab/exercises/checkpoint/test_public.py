"""Public checks for checkpoint: quick feedback on the common mistakes."""
from __future__ import annotations

import os
import re
from typing import Any

from nnlab.grader.checks import CheckFailed, StudentCodeError, assert_equal, evaluate

_MODEL = "nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))"
_ADAM = "torch.optim.Adam(m.parameters(), lr=1e-2)"


def _objects(sub: Any) -> tuple[Any, Any]:
    """A model and an Adam optimizer built in the worker."""
    model = evaluate(sub, _MODEL, label="a small model")
    optimizer = evaluate(sub, _ADAM, label="an Adam optimizer", m=model)
    return model, optimizer


def _unreadable(error: str) -> str:
    """Why torch.load(weights_only=True) refused the file, in one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", error)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if "Weights only load failed" in text:
        what = f" (it pickles a {found.group(1)} object)" if found else ""
        return ("torch.load(path, weights_only=True) refused the checkpoint" + what + ": save state dicts, "
                "tensors and plain Python values, never the model or optimizer objects")
    first = text.split(": ", 1)[-1].splitlines()[0][:200]
    return f"torch.load(path, weights_only=True) could not read the checkpoint: {first}"


def _path(sub: Any, name: str) -> str:
    """A file in the worker's scratch folder, the only place it may write."""
    folder = evaluate(sub, "__import__('tempfile').gettempdir()", label="the scratch folder")
    if not isinstance(folder, str):
        raise CheckFailed("the worker's scratch folder could not be found")
    return os.path.join(folder, name)


def test_file_has_keys(sub):
    """Does save_checkpoint write a file that torch.load(weights_only=True) reads as a dict with model, optimizer and epoch?"""
    model, optimizer = _objects(sub)
    path = _path(sub, "checkpoint.pt")
    sub.save_checkpoint(path, model, optimizer, 4)
    try:
        keys = evaluate(
            sub,
            "(lambda d: sorted(str(k) for k in d) if isinstance(d, dict) else type(d).__name__)"
            "(torch.load(p, weights_only=True))", label="your checkpoint, loaded with weights_only=True", p=path)
    except StudentCodeError as error:
        raise CheckFailed(_unreadable(str(error))) from None
    if not isinstance(keys, list):
        raise CheckFailed(f"the checkpoint holds a {keys}; expected a dict with keys 'model', 'optimizer', 'epoch'")
    missing = [k for k in ("epoch", "model", "optimizer") if k not in keys]
    if missing:
        raise CheckFailed(f"the checkpoint's keys are {keys}; expected 'model', 'optimizer' and 'epoch' "
                          f"(missing {missing})")


def test_round_trip_epoch(sub):
    """Does load_checkpoint into a fresh model and optimizer return the saved epoch (7)?"""
    model, optimizer = _objects(sub)
    path = _path(sub, "checkpoint.pt")
    sub.save_checkpoint(path, model, optimizer, 7)
    fresh_model, fresh_optimizer = _objects(sub)
    epoch = sub.load_checkpoint(path, fresh_model, fresh_optimizer)
    assert_equal(epoch, 7, "load_checkpoint(...) after save_checkpoint(..., epoch=7)")

"""Hidden checks for checkpoint: the whole contract of its statement."""
from __future__ import annotations

import os
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.grader.checks import (CheckFailed, StudentCodeError, assert_close, assert_equal,
                                 buffers_of, evaluate, parameters_of, randint)

_MODEL = "nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))"
_ADAM = "torch.optim.Adam(m.parameters(), lr=1e-2)"
# What the trusted loader sees in the file, as plain data (int keys of the optimizer state as str).
_SUMMARY = (
    "(lambda d: {"
    "'kind': type(d).__name__, "
    "'keys': sorted(str(k) for k in d) if isinstance(d, dict) else None, "
    "'epoch': d.get('epoch') if isinstance(d, dict) else None, "
    "'epoch_type': type(d.get('epoch')).__name__ if isinstance(d, dict) else None, "
    "'model': {str(k): v for k, v in d['model'].items()} "
    "if isinstance(d, dict) and isinstance(d.get('model'), dict) else None, "
    "'optimizer': {'state': {str(k): dict(v) for k, v in d['optimizer']['state'].items()}, "
    "'param_groups': list(d['optimizer']['param_groups'])} "
    "if isinstance(d, dict) and isinstance(d.get('optimizer'), dict) "
    "and isinstance(d['optimizer'].get('state'), dict) and 'param_groups' in d['optimizer'] else None"
    "})(torch.load(p, weights_only=True))"
)
_OPTIMIZER_STATE = ("(lambda sd: {'state': {str(k): dict(v) for k, v in sd['state'].items()}, "
                    "'param_groups': sd['param_groups']})(o.state_dict())")
_GROUP_KEYS = ("lr", "betas", "eps", "weight_decay", "amsgrad", "params")


def _trained(steps: int = 3, lr_after: float = 3e-3) -> tuple[nn.Module, torch.optim.Optimizer]:
    """A model and Adam trained for a few steps here, in the grader: the state a checkpoint must keep."""
    model = eval(_MODEL, {"nn": nn})
    optimizer = eval(_ADAM, {"torch": torch}, {"m": model})
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(torch.randn(6, 5)), randint(0, 3, 6)).backward()
        optimizer.step()
    for group in optimizer.param_groups:
        group["lr"] = lr_after  # as a scheduler would have left it
    return model, optimizer


def _fresh(sub: Any) -> tuple[Any, Any]:
    """A newly built model (other weights) and Adam (empty state, lr 1e-2) in the worker."""
    model = evaluate(sub, _MODEL, label="a freshly built model")
    optimizer = evaluate(sub, _ADAM, label="a fresh Adam optimizer", m=model)
    return model, optimizer


def _in_worker(sub: Any, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[Any, Any]:
    """Worker copies of a grader-side model and optimizer (through their state dicts)."""
    remote_model, remote_optimizer = _fresh(sub)
    remote_model.load_state_dict({k: v.clone() for k, v in model.state_dict().items()})
    state = optimizer.state_dict()
    evaluate(
        sub,
        "o.load_state_dict({'state': {int(k): v for k, v in st.items()}, 'param_groups': pg})",
        label="the optimizer's state", o=remote_optimizer,
        st={str(k): dict(v) for k, v in state["state"].items()}, pg=state["param_groups"])
    return remote_model, remote_optimizer


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


def _save(sub: Any, path: str, model: Any, optimizer: Any, epoch: int) -> None:
    sub.save_checkpoint(path, model, optimizer, epoch)


def _load(sub: Any, path: str, model: Any, optimizer: Any) -> Any:
    return sub.load_checkpoint(path, model, optimizer)


def _summary(sub: Any, path: str) -> dict[str, Any]:
    """The checkpoint file as torch.load(path, weights_only=True) reads it (a trusted expression)."""
    try:
        summary = evaluate(sub, _SUMMARY, label="your checkpoint, loaded with weights_only=True",
                           p=path)
    except StudentCodeError as error:
        raise CheckFailed(_unreadable(str(error))) from None
    if not isinstance(summary, dict) or summary.get("kind") not in ("dict", "OrderedDict"):
        kind = summary.get("kind") if isinstance(summary, dict) else "?"
        raise CheckFailed(f"the checkpoint holds a {kind}; expected a dict with keys 'model', 'optimizer', 'epoch'")
    return summary


def _assert_optimizer_state(got: Any, expected: torch.optim.Optimizer, what: str) -> None:
    """An optimizer state (as plain data, str keys) against the grader's optimizer."""
    want = expected.state_dict()
    if not (isinstance(got, dict) and isinstance(got.get("state"), dict)
            and isinstance(got.get("param_groups"), list)):
        raise CheckFailed(f"{what}: expected an optimizer state dict with 'state' and 'param_groups'")
    assert_equal(sorted(got["state"]), sorted(str(k) for k in want["state"]),
                 f"{what}: the parameter indices with an Adam state")
    for index, entries in want["state"].items():
        mine = got["state"][str(index)]
        if not isinstance(mine, dict):
            raise CheckFailed(f"{what}: the state of parameter {index} is not a mapping")
        for name, value in entries.items():
            if name not in mine:
                raise CheckFailed(f"{what}: '{name}' is missing from the state of parameter {index}")
            assert_close(mine[name], value, f"{what}: {name} of parameter {index}", family="Adam after 3 steps")
    assert_equal(len(got["param_groups"]), len(want["param_groups"]), f"{what}: number of parameter groups")
    for mine, group in zip(got["param_groups"], want["param_groups"]):
        if not isinstance(mine, dict):
            raise CheckFailed(f"{what}: a parameter group is not a mapping")
        for key in _GROUP_KEYS:
            value = group[key]
            assert_equal(mine.get(key), list(value) if isinstance(value, tuple) and
                         isinstance(mine.get(key), list) else value, f"{what}: param_groups '{key}'")


def _assert_model(model: Any, expected: nn.Module, what: str) -> None:
    params, buffers = parameters_of(model), buffers_of(model)
    for name, value in expected.named_parameters():
        if name not in params:
            raise CheckFailed(f"{what}: parameter {name} is missing")
        assert_close(params[name], value.detach(), f"{what}: parameter {name}", family="restored model")
    for name, value in expected.named_buffers():
        if name not in buffers:
            raise CheckFailed(f"{what}: buffer {name} is missing")
        assert_close(buffers[name], value, f"{what}: buffer {name}", family="restored BatchNorm statistics")


def test_weights_only_loadable(sub):
    """Is the checkpoint a dict of state dicts that torch.load(path, weights_only=True) reads?"""
    model, optimizer = _in_worker(sub, *_trained())
    path = _path(sub, "model.ckpt")
    _save(sub, path, model, optimizer, 12)
    summary = _summary(sub, path)
    missing = [k for k in ("model", "optimizer", "epoch") if k not in (summary.get("keys") or [])]
    if missing:
        raise CheckFailed(f"the checkpoint's keys are {summary.get('keys')}; missing {missing}")
    if summary.get("model") is None:
        raise CheckFailed("checkpoint['model'] is not a state dict (a mapping of names to tensors)")
    if summary.get("optimizer") is None:
        raise CheckFailed("checkpoint['optimizer'] is not an optimizer state dict ('state' and 'param_groups')")


def test_saved_state_dicts(sub):
    """Do checkpoint['model'] and checkpoint['optimizer'] equal the model's and optimizer's state dicts?"""
    reference_model, reference_optimizer = _trained()
    model, optimizer = _in_worker(sub, reference_model, reference_optimizer)
    path = _path(sub, "checkpoint.pt")
    _save(sub, path, model, optimizer, 3)
    summary = _summary(sub, path)
    saved = summary.get("model")
    if saved is None:
        raise CheckFailed("checkpoint['model'] is not a state dict (a mapping of names to tensors)")
    expected = reference_model.state_dict()
    assert_equal(sorted(saved), sorted(expected), "the keys of checkpoint['model'] (parameters and buffers)")
    for key, value in expected.items():
        assert_close(saved[key], value, f"checkpoint['model']['{key}']", family="saved model")
    _assert_optimizer_state(summary.get("optimizer"), reference_optimizer, "checkpoint['optimizer']")


def test_epoch_is_int(sub):
    """Is the epoch saved and returned as a Python int (epochs 0 and 123)?"""
    model, optimizer = _fresh(sub)
    for epoch in (0, 123):
        path = _path(sub, f"epoch{epoch}.pt")
        _save(sub, path, model, optimizer, epoch)
        summary = _summary(sub, path)
        if summary.get("epoch_type") != "int" or summary.get("epoch") != epoch:
            raise CheckFailed(f"checkpoint['epoch'] after save_checkpoint(..., epoch={epoch}): expected the int "
                              f"{epoch}, got a {summary.get('epoch_type')} ({summary.get('epoch')!r:.60})")
        got = _load(sub, path, *_fresh(sub))
        if type(got) is not int or got != epoch:
            raise CheckFailed(f"load_checkpoint(...) of epoch {epoch}: expected the int {epoch}, got "
                              f"{type(got).__name__} {got!r:.60}")


def test_model_restored(sub):
    """Does load_checkpoint restore a fresh model's parameters and BatchNorm buffers in place?"""
    reference_model, reference_optimizer = _trained()
    model, optimizer = _in_worker(sub, reference_model, reference_optimizer)
    path = _path(sub, "checkpoint.pt")
    _save(sub, path, model, optimizer, 5)
    fresh_model, fresh_optimizer = _fresh(sub)
    _load(sub, path, fresh_model, fresh_optimizer)
    _assert_model(fresh_model, reference_model, "the fresh model after load_checkpoint")


def test_optimizer_restored(sub):
    """Does load_checkpoint restore a fresh Adam's moments, step counts and learning rate in place?"""
    reference_model, reference_optimizer = _trained()
    model, optimizer = _in_worker(sub, reference_model, reference_optimizer)
    path = _path(sub, "checkpoint.pt")
    _save(sub, path, model, optimizer, 5)
    fresh_model, fresh_optimizer = _fresh(sub)
    _load(sub, path, fresh_model, fresh_optimizer)
    state = evaluate(sub, _OPTIMIZER_STATE, label="the fresh optimizer's state",
                     o=fresh_optimizer)
    _assert_optimizer_state(state, reference_optimizer, "the fresh Adam after load_checkpoint")


def test_resumes_identically(sub):
    """After load_checkpoint into fresh objects, does one more Adam step give the uninterrupted run's weights?"""
    reference_model, reference_optimizer = _trained()
    model, optimizer = _in_worker(sub, reference_model, reference_optimizer)
    path = _path(sub, "checkpoint.pt")
    _save(sub, path, model, optimizer, 5)
    fresh_model, fresh_optimizer = _fresh(sub)
    _load(sub, path, fresh_model, fresh_optimizer)
    x, y = torch.randn(6, 5), randint(0, 3, 6)
    # The next training step, run by trusted code on the objects load_checkpoint was given.
    evaluate(sub, "(o.zero_grad(), F.cross_entropy(m(x), y).backward(), o.step(), None)[3]",
             label="one more training step", m=fresh_model,
             o=fresh_optimizer, x=x, y=y)
    reference_optimizer.zero_grad()
    F.cross_entropy(reference_model(x), y).backward()
    reference_optimizer.step()
    _assert_model(fresh_model, reference_model, "the resumed model after one more step")


def test_several_checkpoints(sub):
    """Does each checkpoint go to its own path, and load back the state and epoch saved there?"""
    first_model, first_optimizer = _trained(steps=2, lr_after=5e-3)
    second_model, second_optimizer = _trained(steps=4, lr_after=2e-3)
    first_path, second_path = _path(sub, "first.pt"), _path(sub, "second.pt")
    _save(sub, first_path, *_in_worker(sub, first_model, first_optimizer), 3)
    _save(sub, second_path, *_in_worker(sub, second_model, second_optimizer), 9)
    model, optimizer = _fresh(sub)
    assert_equal(_load(sub, second_path, model, optimizer), 9, "load_checkpoint of the second checkpoint (epoch 9)")
    _assert_model(model, second_model, "the model after loading the second checkpoint")
    assert_equal(_load(sub, first_path, model, optimizer), 3, "load_checkpoint of the first checkpoint (epoch 3)")
    _assert_model(model, first_model, "the model after loading the first checkpoint")
    state = evaluate(sub, _OPTIMIZER_STATE, label="the optimizer's state", o=optimizer)
    _assert_optimizer_state(state, first_optimizer, "the optimizer after loading the first checkpoint")

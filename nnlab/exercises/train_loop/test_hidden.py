"""Hidden checks for train_loop: the whole contract of its statement."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, assert_close, assert_equal, buffers_of, evaluate,
                                 parameters_of, randint)

Loader = list[tuple[torch.Tensor, torch.Tensor]]

_MLP = "nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))"
_BN = "nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1))"
_CLASSIFIER = "nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))"
_SGD = "torch.optim.SGD(m.parameters(), lr=0.05)"
_MOMENTUM = "torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-3)"
_ADAM = "torch.optim.Adam(m.parameters(), lr=1e-2)"
# In the worker: the model `spec` describes (the same source the grader evaluates for its
# reference), in float64, with the state `sd`, in eval mode when `in_eval`.
_BUILD = "(lambda m: (m.load_state_dict(sd), m.eval() if in_eval else m)[1])(eval(spec).double())"


def _regression(sizes: tuple[int, ...], features: int, outputs: int, scale: float = 1.0) -> Loader:
    return [(torch.randn(n, features, dtype=torch.float64),
             torch.randn(n, outputs, dtype=torch.float64) * scale) for n in sizes]


def _classification(sizes: tuple[int, ...], features: int, classes: int) -> Loader:
    return [(torch.randn(n, features, dtype=torch.float64), randint(0, classes, n))
            for n in sizes]


@dataclass
class Run:
    """One epoch by the reference loop (or a variant of it), in the grader."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    mean_loss: float
    batch_losses: list[float] = field(default_factory=list)


def _reference(model_spec: str, state: dict[str, torch.Tensor], opt_spec: str, loss_spec: str,
               loader: Loader, max_grad_norm: float | None = None, start_in_eval: bool = False,
               zero_grad: bool = True, clip: Callable[[nn.Module, float], None] | None = None) -> Run:
    model = eval(model_spec, {"nn": nn}).double()
    model.load_state_dict(state)
    if start_in_eval:
        model.eval()
    optimizer = eval(opt_spec, {"torch": torch}, {"m": model})
    loss_fn = eval(loss_spec, {"nn": nn})
    model.train()
    total, count, losses = 0.0, 0, []
    for x, y in loader:
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            if clip is None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            else:
                clip(model, max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
        total += loss.item() * len(x)
        count += len(x)
    return Run(model, optimizer, total / count, losses)


@dataclass
class Trained:
    """The student's epoch: the worker's model and optimizer, and what the function returned."""

    model: Any
    optimizer: Any
    result: Any


def _student(sub: Any, model_spec: str, state: dict[str, torch.Tensor], opt_spec: str, loss_spec: str,
             loader: Loader, start_in_eval: bool = False, **kwargs: Any) -> Trained:
    model = evaluate(sub, _BUILD, label="the model to train", spec=model_spec, sd=state,
                     in_eval=start_in_eval)
    optimizer = evaluate(sub, opt_spec, label="the optimizer", m=model)
    loss_fn = evaluate(sub, loss_spec, label=loss_spec)
    result = sub.train_one_epoch(model, loader, optimizer, loss_fn, **kwargs)
    return Trained(model, optimizer, result)


def _state(model_spec: str) -> dict[str, torch.Tensor]:
    model = eval(model_spec, {"nn": nn}).double()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _as_float(result: Any, what: str) -> float:
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        return float(result.item())
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    raise CheckFailed(f"{what}: expected the mean loss as a float, got {type(result).__name__}")


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol))


def _same_params(got: dict[str, torch.Tensor], reference: nn.Module, rtol: float = 1e-6,
                 atol: float = 1e-9) -> bool:
    return all(name in got and type(got[name]) is torch.Tensor and _close(got[name], p.detach(), rtol, atol)
               for name, p in reference.named_parameters())


def _assert_params(got: dict[str, torch.Tensor], reference: nn.Module, family: str,
                   rtol: float | None = None, atol: float | None = None) -> None:
    for name, param in reference.named_parameters():
        if name not in got:
            raise CheckFailed(f"parameter {name} is missing after training ({family})")
        assert_close(got[name], param.detach(), f"parameter {name} after one epoch", family=family,
                     rtol=rtol, atol=atol)


def test_per_sample_mean(sub):
    """Is the returned loss the mean per sample, each batch weighted by its size (last batch smaller)?"""
    state = _state(_MLP)
    loader = _regression((6, 6, 6, 1), 4, 2)
    # A far-off last sample: the mean of batch means weights it 6 times too much.
    loader[-1] = (loader[-1][0], loader[-1][1] + 8.0)
    trained = _student(sub, _MLP, state, _SGD, "nn.MSELoss()", loader)
    run = _reference(_MLP, state, _SGD, "nn.MSELoss()", loader)
    got = _as_float(trained.result, "train_one_epoch(...)")
    if not math.isclose(got, run.mean_loss, rel_tol=1e-7, abs_tol=1e-9):
        batch_mean = sum(run.batch_losses) / len(run.batch_losses)
        hint = ""
        if math.isclose(got, batch_mean, rel_tol=1e-6):
            hint = ": that is the mean of the batch means; weight each batch's loss by its size"
        elif math.isclose(got, sum(run.batch_losses), rel_tol=1e-6):
            hint = ": that is the sum of the batch means; divide by the number of samples"
        raise CheckFailed(f"mean loss per sample over batches of 6, 6, 6 and 1: expected {run.mean_loss:.6g}, "
                          f"got {got:.6g}{hint}")


def test_returns_float(sub):
    """Is the mean loss returned as a Python float (loss.item()), not a tensor?"""
    state = _state(_MLP)
    trained = _student(sub, _MLP, state, _SGD, "nn.MSELoss()", _regression((3, 3), 4, 2))
    if not isinstance(trained.result, float):
        raise CheckFailed(f"train_one_epoch returned {type(trained.result).__name__}; expected a Python "
                          "float (accumulate loss.item(), not the loss tensor)")
    if not math.isfinite(trained.result):
        raise CheckFailed(f"train_one_epoch returned {trained.result}; expected a finite mean loss")


def test_zero_grad_each_batch(sub):
    """Are the gradients zeroed before every batch (SGD with momentum and weight decay, 5 batches)?"""
    state = _state(_MLP)
    loader = _regression((5, 5, 5, 5, 3), 4, 2)
    trained = _student(sub, _MLP, state, _MOMENTUM, "nn.MSELoss()", loader)
    run = _reference(_MLP, state, _MOMENTUM, "nn.MSELoss()", loader)
    got = parameters_of(trained.model)
    if not _same_params(got, run.model):
        stale = _reference(_MLP, state, _MOMENTUM, "nn.MSELoss()", loader, zero_grad=False)
        if _same_params(got, stale.model):
            raise CheckFailed("the parameters after 5 batches are those of a loop that never zeroes the "
                              "gradients: they accumulate over the batches; call optimizer.zero_grad() "
                              "for each batch")
    _assert_params(got, run.model, "SGD with momentum and weight decay, 5 batches")


def _clip_each(model: nn.Module, max_norm: float) -> None:
    for p in model.parameters():
        torch.nn.utils.clip_grad_norm_([p], max_norm)


def _clip_value(model: nn.Module, max_norm: float) -> None:
    torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)


def test_gradient_clipping(sub):
    """Is the total gradient norm clipped to max_grad_norm after backward and before step (and never when None)?"""
    state = _state(_MLP)
    # Large targets: gradient norms far above the limit, so clipping changes every step.
    loader = _regression((5, 5, 4), 4, 2, scale=20.0)
    family = "large gradients, max_grad_norm=0.5"
    trained = _student(sub, _MLP, state, _SGD, "nn.MSELoss()", loader, max_grad_norm=0.5)
    run = _reference(_MLP, state, _SGD, "nn.MSELoss()", loader, max_grad_norm=0.5)
    got = parameters_of(trained.model)
    # A hand-written clip may add its epsilon differently (1e-6 in the norm): a relative 1e-6.
    if not _same_params(got, run.model, rtol=1e-5, atol=1e-8):
        variants = {
            "no clipping at all (is it after backward and before step?)":
                _reference(_MLP, state, _SGD, "nn.MSELoss()", loader),
            "each parameter's gradient clipped separately, not the total norm":
                _reference(_MLP, state, _SGD, "nn.MSELoss()", loader, 0.5, clip=_clip_each),
            "gradient values clipped (clip_grad_value_), not the total norm":
                _reference(_MLP, state, _SGD, "nn.MSELoss()", loader, 0.5, clip=_clip_value),
        }
        for description, variant in variants.items():
            if _same_params(got, variant.model):
                raise CheckFailed(f"with max_grad_norm=0.5 the parameters after training match {description}")
        _assert_params(got, run.model, family, rtol=1e-5, atol=1e-8)
    assert_close(torch.tensor(_as_float(trained.result, "train_one_epoch(..., max_grad_norm=0.5)")),
                 torch.tensor(run.mean_loss, dtype=torch.float64), "mean loss with clipping", family=family,
                 rtol=1e-5, atol=1e-8, check_dtype=False)
    # A limit far above the norms changes nothing; None and the default never clip.
    for kwargs, what in (({"max_grad_norm": 1e6}, "max_grad_norm=1e6"), ({"max_grad_norm": None}, "max_grad_norm=None"),
                         ({}, "the default max_grad_norm")):
        trained = _student(sub, _MLP, state, _SGD, "nn.MSELoss()", loader, **kwargs)
        unclipped = _reference(_MLP, state, _SGD, "nn.MSELoss()", loader)
        _assert_params(parameters_of(trained.model), unclipped.model, f"large gradients, {what}",
                       rtol=1e-5, atol=1e-8)
    # 0.0 is a limit like any other, not "no limit" (`if max_grad_norm:` reads it as None):
    # every step's gradient is scaled to zero.
    trained = _student(sub, _MLP, state, _SGD, "nn.MSELoss()", loader, max_grad_norm=0.0)
    zeroed = _reference(_MLP, state, _SGD, "nn.MSELoss()", loader, max_grad_norm=0.0)
    _assert_params(parameters_of(trained.model), zeroed.model, "large gradients, max_grad_norm=0.0",
                   rtol=1e-5, atol=1e-8)


def test_training_mode(sub):
    """Is a model handed over in eval mode put in training mode (BatchNorm uses and updates batch statistics)?"""
    state = _state(_BN)
    loader = _regression((8, 8, 5), 5, 1)
    trained = _student(sub, _BN, state, _SGD, "nn.MSELoss()", loader, start_in_eval=True)
    run = _reference(_BN, state, _SGD, "nn.MSELoss()", loader, start_in_eval=True)
    modes = evaluate(sub, "[c.training for c in m.modules()]", label="the training flags",
                     m=trained.model)
    if modes != [True] * len(list(run.model.modules())):
        raise CheckFailed(f"after train_one_epoch the model's modules have training flags {modes}; expected "
                          "all True: call model.train() first")
    _assert_params(parameters_of(trained.model), run.model, "BatchNorm model handed over in eval mode")
    buffers = buffers_of(trained.model)
    for name, buffer in run.model.named_buffers():
        if name not in buffers:
            raise CheckFailed(f"buffer {name} is missing after training")
        assert_close(buffers[name], buffer, f"BatchNorm buffer {name} after one epoch",
                     family="BatchNorm model handed over in eval mode")


def test_adam_classification(sub):
    """Does a classifier trained with Adam, CrossEntropyLoss and clipping end with the reference's loss and weights?"""
    state = _state(_CLASSIFIER)
    loader = _classification((7, 7, 7, 3), 6, 3)
    family = "Adam, CrossEntropyLoss, max_grad_norm=0.05"
    trained = _student(sub, _CLASSIFIER, state, _ADAM, "nn.CrossEntropyLoss()", loader, max_grad_norm=0.05)
    run = _reference(_CLASSIFIER, state, _ADAM, "nn.CrossEntropyLoss()", loader, max_grad_norm=0.05)
    assert_close(torch.tensor(_as_float(trained.result, "train_one_epoch(...)"), dtype=torch.float64),
                 torch.tensor(run.mean_loss, dtype=torch.float64), "mean loss per sample", family=family,
                 rtol=1e-5, atol=1e-8)
    _assert_params(parameters_of(trained.model), run.model, family, rtol=1e-5, atol=1e-8)


def test_every_batch_used(sub):
    """Is the optimizer stepped exactly once per batch, the smaller last batch included?"""
    state = _state(_CLASSIFIER)
    loader = _classification((4, 4, 4, 4, 2), 6, 3)
    trained = _student(sub, _CLASSIFIER, state, _ADAM, "nn.CrossEntropyLoss()", loader)
    steps = evaluate(sub, "sorted({float(s['step']) for s in o.state.values()})",
                     label="the optimizer's step counts", o=trained.optimizer)
    assert_equal(steps, [5.0], "Adam's step count after an epoch of 5 batches (4, 4, 4, 4 and 2 samples)")
    run = _reference(_CLASSIFIER, state, _ADAM, "nn.CrossEntropyLoss()", loader)
    _assert_params(parameters_of(trained.model), run.model, "Adam, 5 batches")

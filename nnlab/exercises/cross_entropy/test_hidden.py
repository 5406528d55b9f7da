"""Hidden checks for cross_entropy: the whole contract of its statement."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nnlab.grader.checks import (Remote, assert_close, audited_call,
                                 expect_raises, gradcheck_remote, noncontig, randint, randn, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

REDUCTIONS = ("none", "mean", "sum")


def _d(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.double()


def _target_for_ref(t: torch.Tensor) -> torch.Tensor:
    return t.double() if t.is_floating_point() else t


def _ce_ref(x: torch.Tensor, t: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    # Reference in float64 from pristine copies, cast back to the input's dtype.
    kwargs = {k: (_d(v) if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
    return F.cross_entropy(x.double(), _target_for_ref(t), **kwargs).to(x.dtype)


def _nll_ref(x: torch.Tensor, t: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    kwargs = {k: (_d(v) if isinstance(v, torch.Tensor) else v) for k, v in kwargs.items()}
    return F.nll_loss(x.double(), t, **kwargs).to(x.dtype)


def _describe(name: str, x: torch.Tensor, t: torch.Tensor, kwargs: dict[str, Any]) -> str:
    kind = "probabilities" if t.is_floating_point() else "indices"
    parts = [f"input {tuple(x.shape)}", f"target {kind} {tuple(t.shape)}"]
    for key, value in kwargs.items():
        if isinstance(value, torch.Tensor):
            parts.append(f"{key} of shape {tuple(value.shape)}")
        elif value is not None:
            parts.append(f"{key}={value!r}")
    return f"{name}({', '.join(parts)})"


def _indices(n_classes: int, shape: tuple[int, ...], ignore_index: int | None = None) -> torch.Tensor:
    """Class indices, classes 0 and n_classes - 1 among them every time; with ignore_index,
    about a quarter of the others (at least one) ignored."""
    t = randint(0, n_classes, *shape)
    if ignore_index is not None:
        flat = t.view(-1)
        ignored = torch.rand(flat.numel()) < 0.25
        kept = {int((flat == boundary).nonzero()[0]) for boundary in (0, n_classes - 1)}
        others = [i for i in torch.randperm(flat.numel()).tolist() if i not in kept]
        ignored[others[0]] = True
        ignored[list(kept)] = False  # one of each boundary class stays a real target
        flat[ignored] = ignore_index
    return t


def _probabilities(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.softmax(randn(*shape, scale=2.0), dim=1)


def _index_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return shape[:1] + shape[2:]


def _check(fn: Remote, name: str, x: Any, t: Any, x_ref: torch.Tensor, t_ref: torch.Tensor,
           family: str, atol: float | None = None, **kwargs: Any) -> None:
    ref = _nll_ref if name == "nll_loss" else _ce_ref
    assert_close(fn(x, t, **kwargs), ref(x_ref, t_ref, **kwargs), _describe(name, x_ref, t_ref, kwargs),
                 family=family, atol=atol)


def test_nll_loss_contract(sub):
    """Does nll_loss match torch with weight, ignore_index, 3-D and 4-D inputs, and every reduction?"""
    cases = [  # family, input shape, weighted, ignore_index (None: no ignored targets)
        ("log-probabilities", (7, 5), False, None),
        ("unnormalized scores, used as given", (6, 4), True, None),
        ("default ignore_index -100 in the targets", (8, 3), False, -100),
        ("ignore_index=1, a valid class", (9, 4), True, 1),
        ("3-D input (N, C, d1)", (3, 4, 5), True, -100),
        ("4-D input (N, C, d1, d2)", (2, 3, 4, 5), False, 2),
    ]
    for family, shape, weighted, ignore in cases:
        scores = randn(*shape, scale=2.0)
        x = torch.log_softmax(scores, dim=1) if family == "log-probabilities" else scores
        t = _indices(shape[1], _index_shape(shape), ignore)
        weight = torch.rand(shape[1]) * 2 + 0.1 if weighted else None
        for reduction in REDUCTIONS:
            kwargs: dict[str, Any] = {"weight": weight, "reduction": reduction}
            if ignore is not None and ignore != -100:
                kwargs["ignore_index"] = ignore
            _check(sub.nll_loss, "nll_loss", x, t, x, t, family, **kwargs)


def test_cross_entropy_reductions(sub):
    """Does cross_entropy match torch on odd, 3-D, 4-D, float64 and non-contiguous inputs, unmodified?"""
    cases = [("odd sizes", (7, 5), torch.float32), ("one sample", (1, 3), torch.float32),
             ("one class", (4, 1), torch.float32), ("3-D input (N, C, d1)", (3, 4, 6), torch.float32),
             ("4-D input (N, C, d1, d2)", (2, 3, 4, 5), torch.float32), ("float64", (5, 6), torch.float64)]
    for family, shape, dtype in cases:
        x = randn(*shape, dtype=dtype, scale=3.0)
        t = _indices(shape[1], _index_shape(shape))
        for reduction in REDUCTIONS:
            _check(sub.cross_entropy, "cross_entropy", x, t, x, t, family, reduction=reduction)
    # Every draw holds classes 0 and C - 1, so a class count read from the targets
    # (F.one_hot(target) without num_classes) would pass them: here class C - 1 is absent.
    x, t = randn(6, 5, scale=3.0), randint(0, 4, 6)
    for reduction in REDUCTIONS:
        _check(sub.cross_entropy, "cross_entropy", x, t, x, t, "the last class in no target",
               reduction=reduction)
    x, t = randn(4, 5, 3, scale=3.0), _indices(5, (4, 3))
    _check(sub.cross_entropy, "cross_entropy", noncontig(x), noncontig(t), x, t, "non-contiguous",
           reduction="none")
    fn = sub.cross_entropy
    audited_call(fn, (x, t), {"reduction": "sum"}, names=("input", "target"))


def test_weight_and_ignore_index(sub):
    """Does cross_entropy's weighted mean divide by the summed weights of the non-ignored targets?"""
    cases = [  # family, input shape, weighted, ignore_index
        ("class weights", (8, 5), True, None),
        ("default ignore_index -100", (9, 4), False, -100),
        ("class weights and ignore_index -100", (10, 3), True, -100),
        ("ignore_index=0, a valid class, with weights", (9, 4), True, 0),
        ("3-D input, weights and ignore_index", (3, 4, 5), True, -100),
        ("4-D input, ignore_index=2", (2, 3, 3, 4), False, 2),
    ]
    for family, shape, weighted, ignore in cases:
        x = randn(*shape, scale=2.0)
        t = _indices(shape[1], _index_shape(shape), ignore)
        weight = torch.rand(shape[1]) * 3 + 0.1 if weighted else None
        for reduction in REDUCTIONS:
            kwargs: dict[str, Any] = {"weight": weight, "reduction": reduction}
            if ignore is not None and ignore != -100:
                kwargs["ignore_index"] = ignore
            _check(sub.cross_entropy, "cross_entropy", x, t, x, t, family, **kwargs)


def test_probability_targets(sub):
    """Does cross_entropy accept class probabilities shaped like the input, with weights, each reduction?"""
    cases = [("soft targets", (6, 4), False), ("soft targets, class weights", (7, 5), True),
             ("3-D input, soft targets", (3, 4, 5), True), ("4-D input, soft targets", (2, 3, 4, 2), False)]
    for family, shape, weighted in cases:
        x, q = randn(*shape, scale=2.0), _probabilities(shape)
        weight = torch.rand(shape[1]) * 2 + 0.1 if weighted else None
        for reduction in REDUCTIONS:
            _check(sub.cross_entropy, "cross_entropy", x, q, x, q, family, weight=weight, reduction=reduction)
    x = randn(5, 4, scale=2.0)
    one_hot = F.one_hot(randint(0, 4, 5), 4).float()
    _check(sub.cross_entropy, "cross_entropy", x, one_hot, x, one_hot, "one-hot float targets",
           weight=torch.rand(4) + 0.5, reduction="mean")


def test_label_smoothing(sub):
    """Does label_smoothing follow torch's formula, with class weights, ignore_index and soft targets?"""
    cases = [  # family, input shape, weighted, ignore_index, smoothing
        ("label smoothing", (7, 5), False, None, 0.1),
        ("label smoothing with class weights", (8, 4), True, None, 0.25),
        ("label smoothing, weights and ignore_index -100", (9, 3), True, -100, 0.3),
        ("3-D input, weights, ignore_index=1, smoothing", (3, 4, 5), True, 1, 0.15),
        ("full smoothing (1.0) with weights", (6, 4), True, -100, 1.0),
    ]
    for family, shape, weighted, ignore, eps in cases:
        x = randn(*shape, scale=2.0)
        t = _indices(shape[1], _index_shape(shape), ignore)
        weight = torch.rand(shape[1]) * 3 + 0.1 if weighted else None
        for reduction in REDUCTIONS:
            kwargs: dict[str, Any] = {"weight": weight, "reduction": reduction, "label_smoothing": eps}
            if ignore is not None and ignore != -100:
                kwargs["ignore_index"] = ignore
            _check(sub.cross_entropy, "cross_entropy", x, t, x, t, family, **kwargs)
    x, t = randn(6, 5, scale=2.0), randint(0, 4, 6)  # class C - 1 in no target (see above)
    for reduction in REDUCTIONS:
        _check(sub.cross_entropy, "cross_entropy", x, t, x, t, "label smoothing, the last class in no target",
               reduction=reduction, label_smoothing=0.1)
    for shape, weighted in (((6, 4), True), ((2, 3, 4), False)):
        x, q = randn(*shape, scale=2.0), _probabilities(shape)
        weight = torch.rand(shape[1]) * 2 + 0.1 if weighted else None
        for reduction in REDUCTIONS:
            _check(sub.cross_entropy, "cross_entropy", x, q, x, q, "soft targets with label smoothing",
                   weight=weight, reduction=reduction, label_smoothing=0.2)


def test_large_logits(sub):
    """Is cross_entropy finite and exact for logits of magnitude 1e4, values and gradients?"""
    scale = 1e4
    # float32 rounding grows with the logits' size, not with the loss: an absolute slack in scale.
    atol = 1e-5 * scale
    x = randn(6, 5, scale=scale)
    t = _indices(5, (6,))
    t[:3] = x[:3].argmax(dim=1)  # the right class: a loss near 0, computed from terms near 1e4
    weight = torch.rand(5) + 0.5
    for reduction in REDUCTIONS:
        _check(sub.cross_entropy, "cross_entropy", x, t, x, t, "logits of magnitude 1e4", atol=atol,
               weight=weight, reduction=reduction)
        _check(sub.cross_entropy, "cross_entropy", x, t, x, t, "logits of magnitude 1e4, smoothing",
               atol=atol, reduction=reduction, label_smoothing=0.1)
    x3 = randn(2, 4, 3, scale=scale)
    q = _probabilities((2, 4, 3))
    _check(sub.cross_entropy, "cross_entropy", x3, q, x3, q, "logits of magnitude 1e4, soft targets",
           atol=atol, reduction="none")
    grad_out = randn(6)
    kwargs = {"weight": weight, "reduction": "none", "label_smoothing": 0.1}
    _, grads, _ = vjp(sub.cross_entropy, [x], [grad_out], extra_args=(t,), kwargs=kwargs)
    x_ref = x.double().requires_grad_(True)
    F.cross_entropy(x_ref, t, weight.double(), reduction="none",
                    label_smoothing=0.1).backward(grad_out.double())
    assert_close(grads[0], x_ref.grad.float(), f"gradient of {_describe('cross_entropy', x, t, kwargs)}",
                 family="logits of magnitude 1e4")


def test_invalid_arguments(sub):
    """Do both losses raise ValueError for a bad reduction and for a target shape that does not fit?"""
    x, t = randn(4, 3), _indices(3, (4,))
    # Valid calls first: a function that always raises earns nothing here.
    _check(sub.nll_loss, "nll_loss", x, t, x, t, "valid call", reduction="sum")
    _check(sub.cross_entropy, "cross_entropy", x, t, x, t, "valid call", reduction="sum")
    for bad in ("avg", "Mean", "batchmean", None):
        with expect_raises(ValueError, f"nll_loss(input, target, reduction={bad!r})"):
            sub.nll_loss(x, t, reduction=bad)
        with expect_raises(ValueError, f"cross_entropy(input, target, reduction={bad!r})"):
            sub.cross_entropy(x, t, reduction=bad)
    index_cases = [((4, 3), (5,)), ((4, 3), (4, 1)), ((2, 3, 4, 5), (2, 5, 4)), ((2, 3, 4, 5), (2, 20)),
                   ((2, 3, 4), (2,)), ((2, 3, 4), (2, 4, 1))]
    for in_shape, t_shape in index_cases:
        x, t = randn(*in_shape), randint(0, in_shape[1], *t_shape)
        for name in ("nll_loss", "cross_entropy"):
            with expect_raises(ValueError, f"{name} with input {in_shape} and class indices {t_shape}"):
                getattr(sub, name)(x, t)
    for in_shape, t_shape in [((4, 3), (4, 4)), ((2, 3, 4), (2, 4, 3))]:
        x, q = randn(*in_shape), torch.softmax(randn(*t_shape), dim=-1)
        with expect_raises(ValueError, f"cross_entropy with input {in_shape} and probabilities {t_shape}"):
            sub.cross_entropy(x, q)


def test_gradients(sub):
    """Do input gradients pass gradcheck (float64) and match torch's (float32), with weights, ignoring, smoothing?"""
    weight = torch.rand(4, dtype=torch.float64) + 0.3
    settings = [  # name, input shape, target kind, kwargs
        ("nll_loss", (5, 4), "ignored", {"weight": weight, "reduction": "mean"}),
        ("nll_loss", (2, 4, 3), "ignored", {"reduction": "none"}),
        ("cross_entropy", (3, 4), "ignored", {"weight": weight, "reduction": "mean", "label_smoothing": 0.2}),
        ("cross_entropy", (2, 4, 2), "indices", {"reduction": "none"}),
        ("cross_entropy", (3, 4), "probabilities", {"weight": weight, "reduction": "sum",
                                                     "label_smoothing": 0.1}),
    ]
    for name, shape, kind, kwargs in settings:
        x64 = randn(*shape, dtype=torch.float64, scale=2.0)
        t = (_probabilities(shape).double() if kind == "probabilities"
             else _indices(shape[1], _index_shape(shape), -100 if kind == "ignored" else None))
        gradcheck_remote(getattr(sub, name), [x64], _describe(name, x64, t, kwargs),
                         kwargs={"target": t, **kwargs})

    weight32 = weight.float()
    for reduction in REDUCTIONS:
        shape = (5, 4, 3)
        x, t = randn(*shape, scale=2.0), _indices(4, (5, 3), -100)
        grad_out = randn(5, 3) if reduction == "none" else randn(1).reshape(())
        for name, kwargs in (("nll_loss", {"weight": weight32, "reduction": reduction}),
                             ("cross_entropy", {"weight": weight32, "reduction": reduction,
                                                "label_smoothing": 0.1})):
            _, grads, _ = vjp(getattr(sub, name), [x], [grad_out], extra_args=(t,), kwargs=kwargs)
            x_ref = x.double().requires_grad_(True)
            reference = F.nll_loss if name == "nll_loss" else F.cross_entropy
            reference(x_ref, t, **{**kwargs, "weight": weight}).backward(grad_out.double())
            assert_close(grads[0], x_ref.grad.float(), f"gradient of {_describe(name, x, t, kwargs)}",
                         family="float32 3-D input with ignored targets")
        q = _probabilities(shape)
        kwargs = {"weight": weight32, "reduction": reduction}
        _, grads, _ = vjp(sub.cross_entropy, [x], [grad_out], extra_args=(q,), kwargs=kwargs)
        x_ref = x.double().requires_grad_(True)
        F.cross_entropy(x_ref, q.double(), weight, reduction=reduction).backward(grad_out.double())
        assert_close(grads[0], x_ref.grad.float(), f"gradient of {_describe('cross_entropy', x, q, kwargs)}",
                     family="float32 3-D input with soft targets")

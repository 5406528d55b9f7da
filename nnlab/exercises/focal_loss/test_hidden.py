"""Hidden checks for focal_loss: the whole contract of its statement."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_tensor,
                                 audited_call, evaluate, expect_raises, gradcheck_remote,
                                 noncontig, randint, randn, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


# -- references, computed in float64 in the grader -------------------------------------------
def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def binary_reference(x: torch.Tensor, t: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0,
                     reduction: str = "mean") -> torch.Tensor:
    """torchvision.ops.sigmoid_focal_loss, written out (torchvision is not a dependency)."""
    x, t = x.double(), t.double()
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return _reduce(loss, reduction)


def multiclass_reference(x: torch.Tensor, y: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0,
                         reduction: str = "mean") -> torch.Tensor:
    ce = F.cross_entropy(x.double(), y, reduction="none")
    loss = alpha * (1 - torch.exp(-ce)) ** gamma * ce
    return _reduce(loss, reduction)


def _reference_grad(reference: Any, x: torch.Tensor, target: torch.Tensor, grad_out: torch.Tensor,
                    **kwargs: Any) -> torch.Tensor:
    leaf = x.detach().double().requires_grad_(True)
    reference(leaf, target, **kwargs).backward(grad_out.double())
    return leaf.grad


def _hard_targets(*shape: int) -> torch.Tensor:
    return randint(0, 2, *shape).float()


def _describe(name: str, kwargs: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return f"{name}({args})"


def _expected_out(reference: Any, x: torch.Tensor, target: torch.Tensor, **kwargs: Any) -> torch.Tensor:
    return reference(x, target, **kwargs).to(x.dtype)


def _finite(got: Any, what: str, family: str) -> torch.Tensor:
    tensor = assert_tensor(got, what)
    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise CheckFailed(f"{what} ({family}): {bad} value(s) are NaN or inf; a loss computed from "
                          "the logits stays finite (no log of a sigmoid that rounded to 0 or 1)")
    return tensor


# -- binary focal loss ------------------------------------------------------------------------
def test_binary_reductions(sub):
    """Do reduction='none'/'mean'/'sum' match torchvision on 1-D to 3-D and non-contiguous inputs?"""
    for shape in [(7,), (4, 5), (2, 3, 5), (1,)]:
        x, t = randn(*shape, scale=2.0), _hard_targets(*shape)
        for reduction in ("none", "mean", "sum"):
            kwargs = {"reduction": reduction}
            loss = sub.FocalLoss(**kwargs)
            assert_close(loss(x, t), _expected_out(binary_reference, x, t, **kwargs),
                         f"{_describe('FocalLoss', kwargs)} on a {shape} input", family="normal logits")
    x, t = randn(6, 5, scale=2.0), _hard_targets(6, 5)
    loss = sub.FocalLoss(reduction="none")
    assert_close(loss(noncontig(x), noncontig(t)), _expected_out(binary_reference, x, t, reduction="none"),
                 "FocalLoss(reduction='none') on a (6, 5) input", family="non-contiguous")
    result = audited_call(loss, (x, t), names=("inputs", "targets"))
    assert_close(result, _expected_out(binary_reference, x, t, reduction="none"),
                 "FocalLoss(reduction='none') on a (6, 5) input", family="normal logits")


def test_binary_alpha_gamma(sub):
    """Do alpha (alpha < 0: no weighting) and gamma (0, 0.5, 1, 3) follow torchvision's formula?"""
    cases = [{"alpha": 0.5, "gamma": 1.0}, {"alpha": 0.9, "gamma": 3.0}, {"alpha": 0.25, "gamma": 0.5},
             {"alpha": -1.0, "gamma": 2.0}, {"alpha": 0.0, "gamma": 2.0}, {"alpha": 0.75, "gamma": 0.0}]
    for kwargs in cases:
        for reduction in ("none", "sum"):
            full = {**kwargs, "reduction": reduction}
            x, t = randn(5, 6, scale=3.0), _hard_targets(5, 6)
            assert_close(sub.FocalLoss(**full)(x, t), _expected_out(binary_reference, x, t, **full),
                         _describe("FocalLoss", full), family="normal logits")
    # Positional arguments in the documented order: alpha, gamma, reduction.
    x, t = randn(9, scale=3.0), _hard_targets(9)
    assert_close(sub.FocalLoss(0.6, 1.5, "sum")(x, t),
                 _expected_out(binary_reference, x, t, alpha=0.6, gamma=1.5, reduction="sum"),
                 "FocalLoss(0.6, 1.5, 'sum') (positional alpha, gamma, reduction)", family="normal logits")
    # gamma=0 and alpha<0 leave plain binary cross-entropy with logits.
    x, t = randn(4, 7, scale=3.0), _hard_targets(4, 7)
    for reduction in ("none", "mean", "sum"):
        expected = F.binary_cross_entropy_with_logits(x.double(), t.double(), reduction=reduction).float()
        assert_close(sub.FocalLoss(alpha=-1.0, gamma=0.0, reduction=reduction)(x, t), expected,
                     f"FocalLoss(alpha=-1.0, gamma=0.0, reduction={reduction!r}) against "
                     "binary_cross_entropy_with_logits", family="normal logits")


def test_binary_soft_targets(sub):
    """Are soft targets in [0, 1] handled as torchvision does (p_t = p*t + (1-p)*(1-t))?"""
    for kwargs in [{}, {"alpha": -1.0, "gamma": 0.5}, {"alpha": 0.3, "gamma": 1.0, "reduction": "none"},
                   {"gamma": 3.0, "reduction": "sum"}]:
        x, t = randn(6, 5, scale=3.0), torch.rand(6, 5)
        assert_close(sub.FocalLoss(**kwargs)(x, t), _expected_out(binary_reference, x, t, **kwargs),
                     _describe("FocalLoss", kwargs), family="soft targets in [0, 1]")
    x, t = randn(4, 5, scale=2.0), torch.rand(4, 5)
    grad_out = randn(4, 5)
    _, grads, _ = vjp(sub.FocalLoss(reduction="none"), [x], [grad_out], extra_args=(t,))
    assert_close(grads[0], _reference_grad(binary_reference, x, t, grad_out, reduction="none").float(),
                 "gradient of FocalLoss(reduction='none') with respect to the logits",
                 family="soft targets in [0, 1]")


def test_bad_arguments(sub):
    """Is ValueError raised for an unknown reduction and for targets shaped unlike the logits?"""
    for name in ("FocalLoss", "MultiClassFocalLoss"):
        for reduction in ("average", "batchmean"):
            what = f"{name}(reduction={reduction!r})"
            x = randn(4, 3)
            target = _hard_targets(4, 3) if name == "FocalLoss" else torch.tensor([0, 2, 1, 1])
            # Raising in __init__ or in forward are both fine: the check covers both.
            with expect_raises(ValueError, what):
                loss = getattr(sub, name)(reduction=reduction)
                loss(x, target)
    loss = sub.FocalLoss()
    for t_shape in [(4, 1), (3,), (4, 3, 1)]:
        with expect_raises(ValueError, f"FocalLoss() with logits (4, 3) and targets {t_shape}"):
            loss(randn(4, 3), _hard_targets(*t_shape))


def test_large_logits(sub):
    """Are values and gradients finite and right for logits of magnitude 20 to 100?"""
    mags = torch.tensor([100.0, 60.0, 30.0, 20.0, 5.0])
    x = torch.cat([mags, -mags, mags, -mags]).reshape(4, 5)
    t = torch.cat([torch.ones(10), torch.zeros(10)]).reshape(4, 5)
    for kwargs in [{"reduction": "none"}, {"reduction": "sum"}, {"gamma": 1.0, "reduction": "none"},
                   {"gamma": 3.0, "alpha": -1.0, "reduction": "none"}, {"gamma": 0.0, "reduction": "none"}]:
        what = _describe("FocalLoss", kwargs)
        loss = sub.FocalLoss(**kwargs)
        got = _finite(loss(x, t), what, "logits of magnitude up to 100")
        assert_close(got, _expected_out(binary_reference, x, t, **kwargs), what,
                     family="logits of magnitude up to 100")
        grad_out = torch.ones(()) if kwargs["reduction"] == "sum" else torch.ones(4, 5)
        _, grads, _ = vjp(loss, [x], [grad_out], extra_args=(t,))
        grad = _finite(grads[0], f"gradient of {what}", "logits of magnitude up to 100")
        assert_close(grad, _reference_grad(binary_reference, x, t, grad_out, **kwargs).float(),
                     f"gradient of {what}", family="logits of magnitude up to 100")
    x = randn(6, 5, scale=100.0)
    y = randint(0, 5, 6)
    for kwargs in [{"reduction": "none"}, {"gamma": 1.0, "alpha": 1.0, "reduction": "sum"}]:
        what = _describe("MultiClassFocalLoss", kwargs)
        loss = sub.MultiClassFocalLoss(**kwargs)
        got = _finite(loss(x, y), what, "logits of magnitude about 100")
        assert_close(got, _expected_out(multiclass_reference, x, y, **kwargs), what,
                     family="logits of magnitude about 100")
        grad_out = torch.ones(()) if kwargs["reduction"] == "sum" else torch.ones(6)
        _, grads, _ = vjp(loss, [x], [grad_out], extra_args=(y,))
        grad = _finite(grads[0], f"gradient of {what}", "logits of magnitude about 100")
        assert_close(grad, _reference_grad(multiclass_reference, x, y, grad_out, **kwargs).float(),
                     f"gradient of {what}", family="logits of magnitude about 100")


def _on_fixed_target(loss: Remote, target: torch.Tensor, label: str) -> Remote:
    """A worker-side function x -> loss(x, target), so gradcheck differentiates the logits only."""
    return evaluate(loss, "lambda x: loss(x, target)", label=label, loss=loss, target=target)


def test_binary_gradients(sub):
    """Do FocalLoss gradients pass gradcheck (float64) and match torchvision's in float32?"""
    # Scalar outputs keep gradcheck to one backward pass; 'none' is covered by the vjp below.
    for kwargs, t in [({}, _hard_targets(2, 3).double()),
                      ({"alpha": -1.0, "gamma": 1.5, "reduction": "sum"}, torch.rand(2, 3, dtype=torch.float64)),
                      ({"alpha": 0.4, "gamma": 0.5, "reduction": "sum"}, _hard_targets(2, 3).double())]:
        what = _describe("FocalLoss", kwargs)
        fn = _on_fixed_target(sub.FocalLoss(**kwargs), t, what)
        gradcheck_remote(fn, [randn(2, 3, dtype=torch.float64, scale=2.0)], f"{what} gradient",
                         fast_mode=True)
    for kwargs in [{}, {"alpha": 0.6, "gamma": 3.0, "reduction": "none"}]:
        x, t = randn(5, 7, scale=3.0), _hard_targets(5, 7)
        grad_out = randn(5, 7) if kwargs.get("reduction") == "none" else randn(1).reshape(())
        _, grads, _ = vjp(sub.FocalLoss(**kwargs), [x], [grad_out], extra_args=(t,))
        assert_close(grads[0], _reference_grad(binary_reference, x, t, grad_out, **kwargs).float(),
                     f"gradient of {_describe('FocalLoss', kwargs)} with respect to the logits",
                     family="normal logits")


# -- multi-class focal loss -------------------------------------------------------------------
def test_multiclass_values(sub):
    """Does MultiClassFocalLoss match alpha*(1-p_t)**gamma*CE for every reduction, alpha and gamma?"""
    cases = [{"reduction": "none"}, {"reduction": "sum"}, {"alpha": 1.0, "gamma": 0.0},
             {"alpha": 0.5, "gamma": 1.0, "reduction": "sum"}, {"alpha": 0.8, "gamma": 3.0, "reduction": "none"},
             {"gamma": 0.5}]
    for (n, c), kwargs in zip([(7, 5), (16, 2), (1, 3), (9, 10), (5, 7), (12, 4)], cases):
        x = randn(n, c, scale=2.0)
        y = randint(0, c, n)
        what = f"{_describe('MultiClassFocalLoss', kwargs)} on ({n}, {c}) logits"
        assert_close(sub.MultiClassFocalLoss(**kwargs)(x, y),
                     _expected_out(multiclass_reference, x, y, **kwargs), what, family="normal logits")
    # Every draw holds classes 0 and C - 1, so a class count read from the targets
    # (F.one_hot(targets) without num_classes) would pass them: here class C - 1 is absent.
    x, y = randn(6, 5, scale=2.0), randint(0, 4, 6)
    assert_close(sub.MultiClassFocalLoss(reduction="none")(x, y),
                 _expected_out(multiclass_reference, x, y, reduction="none"),
                 "MultiClassFocalLoss(reduction='none') on (6, 5) logits", family="the last class in no target")
    # alpha=1, gamma=0 is plain cross-entropy.
    x, y = randn(8, 6, scale=2.0), randint(0, 6, 8)
    assert_close(sub.MultiClassFocalLoss(alpha=1.0, gamma=0.0, reduction="none")(noncontig(x), y),
                 F.cross_entropy(x.double(), y, reduction="none").float(),
                 "MultiClassFocalLoss(alpha=1.0, gamma=0.0, reduction='none') against cross_entropy",
                 family="non-contiguous")
    assert_close(sub.MultiClassFocalLoss(0.3, 1.5, "sum")(x, y),
                 _expected_out(multiclass_reference, x, y, alpha=0.3, gamma=1.5, reduction="sum"),
                 "MultiClassFocalLoss(0.3, 1.5, 'sum') (positional alpha, gamma, reduction)",
                 family="normal logits")


def test_multiclass_gradients(sub):
    """Do MultiClassFocalLoss gradients pass gradcheck (float64) and match the reference?"""
    y = torch.tensor([0, 2, 1])
    for kwargs in [{}, {"alpha": 0.7, "gamma": 1.0, "reduction": "sum"}]:
        what = _describe("MultiClassFocalLoss", kwargs)
        fn = _on_fixed_target(sub.MultiClassFocalLoss(**kwargs), y, what)
        gradcheck_remote(fn, [randn(3, 3, dtype=torch.float64, scale=2.0)], f"{what} gradient",
                         fast_mode=True)
    x, y = randn(6, 5, scale=2.0), randint(0, 5, 6)
    grad_out = randn(6)
    _, grads, _ = vjp(sub.MultiClassFocalLoss(reduction="none"), [x], [grad_out], extra_args=(y,))
    assert_close(grads[0], _reference_grad(multiclass_reference, x, y, grad_out, reduction="none").float(),
                 "gradient of MultiClassFocalLoss(reduction='none') with respect to the logits",
                 family="normal logits")

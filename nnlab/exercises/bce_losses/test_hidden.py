"""Hidden checks for bce_losses: the whole contract of its statement."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import (CheckFailed, assert_close, expect_raises, gradcheck_remote, noncontig,
                                 randint, randn, vjp)

REDUCTIONS = ("none", "mean", "sum")


def _d(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.double()


def _bce_ref(p: torch.Tensor, t: torch.Tensor, weight: torch.Tensor | None = None,
             reduction: str = "mean") -> torch.Tensor:
    # Reference in float64 from pristine copies, cast back to the input's dtype.
    return F.binary_cross_entropy(p.double(), t.double(), _d(weight), reduction=reduction).to(p.dtype)


def _logits_ref(x: torch.Tensor, t: torch.Tensor, weight: torch.Tensor | None = None,
                pos_weight: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(x.double(), t.double(), _d(weight), reduction=reduction,
                                              pos_weight=_d(pos_weight)).to(x.dtype)


def _describe(name: str, weight: torch.Tensor | None, pos_weight: torch.Tensor | None,
              reduction: str) -> str:
    parts = ["input", "target"]
    if weight is not None:
        parts.append(f"weight of shape {tuple(weight.shape)}")
    if pos_weight is not None:
        parts.append(f"pos_weight of shape {tuple(pos_weight.shape)}")
    parts.append(f"reduction={reduction!r}")
    return f"{name}({', '.join(parts)})"


def _targets(*shape: int) -> torch.Tensor:
    """Hard 0/1 labels in the first half of the last dim, soft labels in the rest."""
    hard_columns = (shape[-1] + 1) // 2
    hard = randint(0, 2, *shape[:-1], hard_columns).float()
    soft = torch.rand(*shape[:-1], shape[-1] - hard_columns)
    return torch.cat([hard, soft], dim=-1)


def _probs(*shape: int) -> torch.Tensor:
    return torch.sigmoid(randn(*shape, scale=2.0))


def test_bce_reductions_and_weight(sub):
    """Does binary_cross_entropy match torch for each reduction, soft targets, and broadcast weights?"""
    cases = [("odd sizes", (5, 3), None), ("per-column weight", (7, 4), (4,)),
             ("full weight", (6, 5), (6, 5)), ("3-D input, (C, 1) weight", (2, 3, 4), (3, 1)),
             ("1-D input", (9,), (9,))]
    for family, shape, w_shape in cases:
        p, t = _probs(*shape), _targets(*shape)
        weight = torch.rand(*w_shape) * 2 if w_shape else None
        for reduction in REDUCTIONS:
            kwargs = {"weight": weight, "reduction": reduction}
            assert_close(sub.binary_cross_entropy(p, t, **kwargs), _bce_ref(p, t, **kwargs),
                         _describe("binary_cross_entropy", weight, None, reduction), family=family)
    p, t = _probs(4, 6), _targets(4, 6)
    assert_close(sub.binary_cross_entropy(noncontig(p), noncontig(t), reduction="none"),
                 _bce_ref(p, t, reduction="none"), "binary_cross_entropy(input, target, reduction='none')",
                 family="non-contiguous")
    p64, t64 = _probs(3, 5).double(), _targets(3, 5).double()
    assert_close(sub.binary_cross_entropy(p64, t64), _bce_ref(p64, t64),
                 "binary_cross_entropy(input, target)", family="float64")


def test_bce_log_clamp(sub):
    """Does binary_cross_entropy clamp each log at -100 like torch, for probabilities of exactly 0 and 1?"""
    # Every pairing of p in {0, 1, tiny, nearly 1} with t in {0, 1, soft}.
    tiny = torch.tensor(1e-45)  # a float32 denormal: log is below -100 there too
    p_values = torch.stack([torch.tensor(0.0), torch.tensor(1.0), tiny,
                            torch.tensor(1.0) - torch.finfo(torch.float32).eps / 2, torch.tensor(0.5)])
    t_values = torch.tensor([0.0, 1.0, 0.3, 0.85])
    p = p_values.repeat_interleave(len(t_values)).reshape(len(p_values), len(t_values))
    t = t_values.repeat(len(p_values)).reshape(len(p_values), len(t_values))
    for reduction in REDUCTIONS:
        assert_close(sub.binary_cross_entropy(p, t, reduction=reduction), _bce_ref(p, t, reduction=reduction),
                     f"binary_cross_entropy(input, target, reduction={reduction!r})",
                     family="probabilities of exactly 0 and 1 (row i: p in 0, 1, 1e-45, 1-6e-8, 0.5; "
                            "column j: t in 0, 1, 0.3, 0.85)")
    weight = torch.tensor([0.5, 2.0, 1.0, 3.0])
    assert_close(sub.binary_cross_entropy(p, t, weight=weight, reduction="sum"),
                 _bce_ref(p, t, weight, "sum"),
                 "binary_cross_entropy(input, target, weight, reduction='sum')",
                 family="probabilities of exactly 0 and 1, weighted")


def test_logits_weight_and_pos_weight(sub):
    """Does the logits version match torch with weight, pos_weight over the last dim, and each reduction?"""
    cases = [("odd sizes", (5, 3), None, None), ("pos_weight", (6, 4), None, (4,)),
             ("weight", (7, 5), (5,), None), ("weight and pos_weight", (4, 3), (4, 3), (3,)),
             ("3-D input, pos_weight over the last dim", (3, 5, 4), (5, 1), (4,)),
             ("1-D input", (6,), None, (6,))]
    for family, shape, w_shape, pw_shape in cases:
        x, t = randn(*shape, scale=3.0), _targets(*shape)
        weight = torch.rand(*w_shape) * 2 if w_shape else None
        pos_weight = torch.rand(*pw_shape) * 4 + 0.1 if pw_shape else None
        for reduction in REDUCTIONS:
            kwargs = {"weight": weight, "pos_weight": pos_weight, "reduction": reduction}
            assert_close(sub.binary_cross_entropy_with_logits(x, t, **kwargs), _logits_ref(x, t, **kwargs),
                         _describe("binary_cross_entropy_with_logits", weight, pos_weight, reduction),
                         family=family)
    x, t = randn(4, 6, scale=3.0), _targets(4, 6)
    pos_weight = torch.rand(6) * 3
    assert_close(sub.binary_cross_entropy_with_logits(noncontig(x), noncontig(t), pos_weight=pos_weight,
                                                      reduction="none"),
                 _logits_ref(x, t, pos_weight=pos_weight, reduction="none"),
                 _describe("binary_cross_entropy_with_logits", None, pos_weight, "none"),
                 family="non-contiguous")
    x64, t64 = randn(3, 5, dtype=torch.float64, scale=3.0), _targets(3, 5).double()
    assert_close(sub.binary_cross_entropy_with_logits(x64, t64), _logits_ref(x64, t64),
                 "binary_cross_entropy_with_logits(input, target)", family="float64")


def test_logits_large_magnitudes(sub):
    """Is the logits version finite and exact for logits of magnitude 1e4, values and gradients?"""
    scale = 1e4
    special = torch.tensor([1e4, -1e4, 1e3, -1e3, 100.0, -100.0, 0.0, 1e-3])
    x = torch.cat([special, randn(16, scale=scale)]).reshape(4, 6)
    t = torch.tensor([1.0, 0.0, 0.3, 0.85, 1.0, 0.0]).repeat(4, 1)
    pos_weight = torch.tensor([3.0, 0.5, 2.0, 1.0, 0.2, 5.0])
    # float32 rounding grows with the logits' size, not with the loss: an absolute slack in scale.
    atol = 1e-6 * scale
    for pw in (None, pos_weight):
        for reduction in REDUCTIONS:
            kwargs = {"pos_weight": pw, "reduction": reduction}
            assert_close(sub.binary_cross_entropy_with_logits(x, t, **kwargs), _logits_ref(x, t, **kwargs),
                         _describe("binary_cross_entropy_with_logits", None, pw, reduction),
                         family="logits up to 1e4 in magnitude", atol=atol)
    # Gradients, away from exactly 0 (where |x| in a stable formula may pick any subgradient).
    x = torch.cat([special[:6], randn(18, scale=scale)]).reshape(4, 6)
    for reduction in ("none", "mean"):
        kwargs = {"pos_weight": pos_weight, "reduction": reduction}
        grad_out = randn(4, 6) if reduction == "none" else randn(1).reshape(())
        _, grads, _ = vjp(sub.binary_cross_entropy_with_logits, [x], [grad_out], extra_args=(t,),
                          kwargs=kwargs)
        x_ref = x.double().requires_grad_(True)
        F.binary_cross_entropy_with_logits(x_ref, t.double(), pos_weight=pos_weight.double(),
                                           reduction=reduction).backward(grad_out.double())
        assert_close(grads[0], x_ref.grad.float(),
                     "gradient of " + _describe("binary_cross_entropy_with_logits", None, pos_weight, reduction),
                     family="logits up to 1e4 in magnitude")


def test_invalid_reduction(sub):
    """Do both losses raise ValueError for a reduction other than 'none', 'mean' or 'sum'?"""
    p, t = _probs(3, 4), _targets(3, 4)
    x = randn(3, 4)
    # Valid calls first: a function that always raises earns nothing here.
    assert_close(sub.binary_cross_entropy(p, t, reduction="sum"), _bce_ref(p, t, reduction="sum"),
                 "binary_cross_entropy(input, target, reduction='sum')", family="valid call")
    assert_close(sub.binary_cross_entropy_with_logits(x, t, reduction="sum"),
                 _logits_ref(x, t, reduction="sum"),
                 "binary_cross_entropy_with_logits(input, target, reduction='sum')", family="valid call")
    for bad in ("avg", "Mean", "elementwise", None):
        with expect_raises(ValueError, f"binary_cross_entropy(input, target, reduction={bad!r})"):
            sub.binary_cross_entropy(p, t, reduction=bad)
        with expect_raises(ValueError, f"binary_cross_entropy_with_logits(input, target, reduction={bad!r})"):
            sub.binary_cross_entropy_with_logits(x, t, reduction=bad)


def test_shape_mismatch(sub):
    """Do both losses raise ValueError when input and target shapes differ, instead of broadcasting?"""
    p, t = _probs(4, 3), _targets(4, 3)
    assert_close(sub.binary_cross_entropy(p, t), _bce_ref(p, t), "binary_cross_entropy(input, target)",
                 family="valid call")
    assert_close(sub.binary_cross_entropy_with_logits(p, t), _logits_ref(p, t),
                 "binary_cross_entropy_with_logits(input, target)", family="valid call")
    pairs = [((4, 1), (4,)), ((4,), (4, 1)), ((4, 3), (4, 1)), ((5,), (6,)), ((2, 3), (3, 2))]
    for in_shape, t_shape in pairs:
        p, t = _probs(*in_shape), torch.rand(*t_shape)
        with expect_raises(ValueError, f"binary_cross_entropy with input {in_shape} and target {t_shape}"):
            sub.binary_cross_entropy(p, t)
        with expect_raises(ValueError,
                           f"binary_cross_entropy_with_logits with input {in_shape} and target {t_shape}"):
            sub.binary_cross_entropy_with_logits(randn(*in_shape), t)


def test_gradients(sub):
    """Do input gradients pass gradcheck in float64 and match torch's in float32, with and without pos_weight?"""
    weight, pos_weight = torch.rand(4) + 0.5, torch.rand(4) * 3 + 0.2
    for reduction in REDUCTIONS:
        # Probabilities kept inside [0.05, 0.95]: finite differences never leave (0, 1).
        p64 = torch.rand(3, 4, dtype=torch.float64) * 0.9 + 0.05
        t64 = _targets(3, 4).double()
        kwargs = {"target": t64, "weight": weight.double(), "reduction": reduction}
        gradcheck_remote(sub.binary_cross_entropy, [p64],
                         _describe("binary_cross_entropy", weight, None, reduction), kwargs=kwargs)
        x64 = randn(3, 4, dtype=torch.float64, scale=3.0)
        kwargs = {"target": t64, "weight": weight.double(), "pos_weight": pos_weight.double(),
                  "reduction": reduction}
        gradcheck_remote(sub.binary_cross_entropy_with_logits, [x64],
                         _describe("binary_cross_entropy_with_logits", weight, pos_weight, reduction),
                         kwargs=kwargs)

        p = torch.rand(5, 4) * 0.9 + 0.05
        x, t = randn(5, 4, scale=3.0), _targets(5, 4)
        grad_out = randn(5, 4) if reduction == "none" else randn(1).reshape(())
        _, grads, _ = vjp(sub.binary_cross_entropy, [p], [grad_out], extra_args=(t,),
                          kwargs={"weight": weight, "reduction": reduction})
        p_ref = p.double().requires_grad_(True)
        F.binary_cross_entropy(p_ref, t.double(), weight.double(),
                               reduction=reduction).backward(grad_out.double())
        assert_close(grads[0], p_ref.grad.float(),
                     f"gradient of {_describe('binary_cross_entropy', weight, None, reduction)}",
                     family="float32, probabilities in [0.05, 0.95]")
        # Without pos_weight too: that branch builds the loss on its own and must keep the graph.
        for pw in (pos_weight, None):
            _, grads, _ = vjp(sub.binary_cross_entropy_with_logits, [x], [grad_out], extra_args=(t,),
                              kwargs={"weight": weight, "pos_weight": pw, "reduction": reduction})
            x_ref = x.double().requires_grad_(True)
            F.binary_cross_entropy_with_logits(x_ref, t.double(), weight.double(), pos_weight=_d(pw),
                                               reduction=reduction).backward(grad_out.double())
            described = _describe("binary_cross_entropy_with_logits", weight, pw, reduction)
            if grads[0] is None:
                raise CheckFailed(f"{described}: no gradient reached the input; is the loss built from it "
                                  "with differentiable operations?")
            assert_close(grads[0], x_ref.grad.float(), "gradient of " + described,
                         family="float32 moderate logits")

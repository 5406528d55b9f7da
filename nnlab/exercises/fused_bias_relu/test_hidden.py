"""Hidden checks for fused_bias_relu: values, gradcheck for both inputs, the relu mask, the summed
bias gradient returned by backward itself, and calls that do not share state."""
from __future__ import annotations

from typing import Any

import torch

from nnlab.grader.checks import (CheckFailed, RequiresGrad, assert_close, assert_tensor,
                                 audited_call, evaluate, gradcheck_remote, noncontig, randn,
                                 vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _expected(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.relu(x.double() + b.double()).to(x.dtype)


def _reference_grads(x: torch.Tensor, b: torch.Tensor, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xr = x.detach().double().requires_grad_(True)
    br = b.detach().double().requires_grad_(True)
    torch.relu(xr + br).backward(g.double())
    return xr.grad.to(x.dtype), br.grad.to(b.dtype)


def _away_from_kink(x: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Moves entries with input + bias near 0, where relu has no derivative, away from it."""
    return torch.where((x + b).abs() < 1e-2, x + 0.5, x)


def _dtype_name(x: torch.Tensor) -> str:
    return str(x.dtype).removeprefix("torch.")


def _grads(sub: Any, x: torch.Tensor, b: torch.Tensor, g: torch.Tensor,
           family: str) -> tuple[torch.Tensor, torch.Tensor]:
    _, grads, _ = vjp(sub.FusedBiasReLU.apply, [x, b], [g])
    for got, name, like in ((grads[0], "input", x), (grads[1], "bias", b)):
        if got is None:
            raise CheckFailed(f"no gradient reached `{name}` ({family}): backward must return "
                              "(grad_input, grad_bias)")
        assert_tensor(got, f"gradient with respect to {name} ({family})", shape=like.shape, dtype=like.dtype)
    return grads[0], grads[1]


def _mixed_signs(n: int, d: int, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs where the bias often flips the sign: input > 0 but input + bias < 0, and the reverse."""
    x = randn(n, d, dtype=dtype)
    b = (torch.arange(d, dtype=torch.float64) % 2 * 2 - 1).mul(1.5).to(dtype)  # +-1.5
    return _away_from_kink(x, b), b


def test_forward_values(sub):
    """Does forward equal relu(input + bias) for odd sizes, float64, non-contiguous and 1e4 inputs?"""
    apply = sub.FusedBiasReLU.apply
    for n, d in [(1, 1), (7, 3), (3, 17), (64, 5)]:
        x, b = randn(n, d), randn(d)
        assert_close(apply(x, b), _expected(x, b), f"forward on a ({n}, {d}) input", family="odd sizes")
    x, b = randn(6, 5, dtype=torch.float64), randn(5, dtype=torch.float64)
    assert_close(apply(x, b), _expected(x, b), "forward", family="float64")
    x, b = randn(4, 6), randn(6)
    assert_close(apply(noncontig(x), noncontig(b)), _expected(x, b), "forward", family="non-contiguous")
    x, b = randn(5, 4, scale=1e4), randn(4, scale=1e4)
    assert_close(apply(x, b), _expected(x, b), "forward", family="large magnitudes", atol=1e-5 * 1e4)
    audited_call(apply, (x, b), names=("input", "bias"))


def test_gradcheck(sub):
    """Does FusedBiasReLU pass gradcheck in float64 with respect to both input and bias?"""
    for n, d in [(3, 4), (1, 5)]:
        x, b = randn(n, d, dtype=torch.float64), randn(d, dtype=torch.float64)
        gradcheck_remote(sub.FusedBiasReLU.apply, [_away_from_kink(x, b), b],
                         f"FusedBiasReLU on a ({n}, {d}) input")


def test_grad_input(sub):
    """Is grad_input the upstream gradient masked where input + bias > 0 (not where input > 0)?"""
    for dtype in (torch.float32, torch.float64):
        x, b = _mixed_signs(6, 8, dtype)
        g = randn(6, 8, dtype=dtype, scale=2.0)
        family = f"bias flips the sign of input, {_dtype_name(x)}"
        got, _ = _grads(sub, x, b, g, family)
        assert_close(got, _reference_grads(x, b, g)[0], "gradient with respect to input", family=family)


def test_grad_bias(sub):
    """Is grad_bias the masked upstream gradient summed over the batch, for N = 1 and N = 9?"""
    for n, d in [(1, 6), (9, 6), (33, 3)]:
        x, b = _mixed_signs(n, d)
        g = randn(n, d, scale=2.0)
        family = f"batch of {n}"
        _, got = _grads(sub, x, b, g, family)
        # Summing n terms: rounding grows with n.
        assert_close(got, _reference_grads(x, b, g)[1], "gradient with respect to bias", family=family,
                     atol=1e-5 * n)


def test_backward_returns_bias_grad(sub):
    """Does backward itself return grad_bias of shape (D,), summed over the batch?"""
    n, d = 7, 5
    x, b = _mixed_signs(n, d, torch.float64)
    g = randn(n, d, dtype=torch.float64)
    # Autograd would quietly sum an (N, D) bias gradient; calling backward directly (with the
    # ctx that forward filled) shows what it really returns.
    returned = evaluate(
        sub,
        "(lambda out: submission.FusedBiasReLU.backward(out.grad_fn, g))"
        "(submission.FusedBiasReLU.apply(x, b))",
        label="FusedBiasReLU.backward", x=RequiresGrad(x), b=RequiresGrad(b), g=g)
    if not isinstance(returned, (tuple, list)) or len(returned) != 2:
        length = f" of length {len(returned)}" if isinstance(returned, (tuple, list)) else ""
        raise CheckFailed(f"backward returned {type(returned).__name__}{length}; expected the pair "
                          "(grad_input, grad_bias), one gradient per forward input")
    grad_input, grad_bias = returned
    ref_input, ref_bias = _reference_grads(x, b, g)
    if type(grad_bias) is torch.Tensor and tuple(grad_bias.shape) != (d,):
        raise CheckFailed(f"backward returned grad_bias of shape {tuple(grad_bias.shape)}; expected ({d},), "
                          "the shape of bias: bias is broadcast over the batch, so its gradient is summed "
                          "over the batch dimension")
    assert_close(grad_input, ref_input, "grad_input returned by backward", family=f"({n}, {d}) input")
    assert_close(grad_bias, ref_bias, "grad_bias returned by backward", family=f"({n}, {d}) input")


def test_independent_calls(sub):
    """With two calls waiting for their backward, does each use its own saved tensors?"""
    # A bias kept in a global or a class attribute instead of ctx is overwritten by the second call.
    pair = evaluate(
        sub,
        "lambda x1, b1, x2, b2: (submission.FusedBiasReLU.apply(x1, b1), "
        "submission.FusedBiasReLU.apply(x2, b2))",
        label="two FusedBiasReLU calls")
    x1, b1 = _mixed_signs(4, 6)
    x2, b2 = _away_from_kink(randn(5, 6), -b1), -b1
    g1, g2 = randn(4, 6), randn(5, 6)
    for grad_outputs, family in (([g1, None], "backward of the first call only"),
                                 ([None, g2], "backward of the second call only"),
                                 ([g1, g2], "backward of both calls")):
        _, grads, _ = vjp(pair, [x1, b1, x2, b2], grad_outputs)
        for index, (x, b, g) in enumerate(((x1, b1, g1), (x2, b2, g2))):
            if grad_outputs[index] is None:
                continue
            ref_x, ref_b = _reference_grads(x, b, g)
            for got, ref, name in ((grads[2 * index], ref_x, "input"), (grads[2 * index + 1], ref_b, "bias")):
                if got is None:
                    raise CheckFailed(f"no gradient reached the {name} of call {index + 1} ({family})")
                assert_close(got, ref, f"gradient with respect to the {name} of call {index + 1}",
                             family=family)


def test_kink_subgradient(sub):
    """Where input + bias is exactly 0, is the output 0 and the gradient a valid subgradient?"""
    b = torch.tensor([0.5, -1.25, 2.0, 0.0])
    x = randn(5, 4)
    x[:, :3][torch.arange(5) % 2 == 0] = -b[:3]  # input + bias == 0 exactly in these rows
    x[1, 3] = 0.0
    at_kink = (x + b) == 0
    g = randn(5, 4, scale=2.0)
    assert_close(sub.FusedBiasReLU.apply(x, b), _expected(x, b), "forward", family="input + bias == 0")
    got_x, got_b = _grads(sub, x, b, g, "input + bias == 0")
    ref_x, _ = _reference_grads(x, b, g)
    # Any value between 0 and grad_output is a valid subgradient of relu at 0.
    lo, hi = torch.minimum(torch.zeros_like(g), g), torch.maximum(torch.zeros_like(g), g)
    bad = at_kink & ((got_x < lo - 1e-6) | (got_x > hi + 1e-6))
    if bool(bad.any()):
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise CheckFailed(f"gradient with respect to input at index {index}, where input + bias == 0: got "
                          f"{got_x[index].item():g}; expected a subgradient between 0 and the upstream "
                          f"gradient {g[index].item():g}")
    assert_close(got_x, torch.where(at_kink, got_x, ref_x), "gradient with respect to input",
                 family="input + bias == 0 (away from the kink)")
    # Whatever subgradient was chosen, grad_bias must be the column sums of grad_input.
    assert_close(got_b, got_x.double().sum(0).float(), "gradient with respect to bias",
                 family="input + bias == 0: the column sums of your grad_input")

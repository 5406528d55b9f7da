"""Hidden checks for activations: values, dims, stability at 1e4, gradients, dtypes."""
from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from nnlab.grader.checks import (TOLERANCES, CheckFailed, Remote, assert_close, assert_tensor,
                                 audited_call, gradcheck_remote, noncontig, randn, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

REFERENCES: dict[str, Callable[..., torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky_relu": F.leaky_relu,
    "silu": F.silu,
    "softmax": F.softmax,
    "log_softmax": F.log_softmax,
}
ALL = list(REFERENCES)
# Where torch's function has a kink at 0, the subgradient a student picks may lie anywhere
# between the two one-sided slopes (torch itself uses the left one).
KINK_SLOPES = {"relu": lambda kw: (0.0, 1.0),
               "leaky_relu": lambda kw: (kw.get("negative_slope", 0.01), 1.0)}


_LOOKUPS: dict[str, Any] = {"sub": None, "functions": {}}


def _fn(sub: Any, name: str) -> Remote:
    """The student's function `name`, looked up once per check's worker (a look-up is a round trip)."""
    if _LOOKUPS["sub"] is not sub:  # a new check: forget the previous worker's proxies
        _LOOKUPS["sub"], _LOOKUPS["functions"] = sub, {}
    functions = _LOOKUPS["functions"]
    if name not in functions:
        value = getattr(sub, name)
        if not isinstance(value, Remote):  # a plain value (None, a number) came back
            raise CheckFailed(f"`{name}` in your file is {value!r}, not a function")
        functions[name] = value
    return functions[name]


def _expected(name: str, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """torch's value in float64 from a pristine copy, cast to the input's dtype."""
    if name in ("softmax", "log_softmax") and not args and "dim" not in kwargs:
        kwargs = {**kwargs, "dim": -1}  # the contract's default (F.softmax has no default dim)
    return REFERENCES[name](x.detach().double(), *args, **kwargs).to(x.dtype)


def _describe(kwargs: dict[str, Any], args: tuple[Any, ...] = ()) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(["x", *parts])


def _input(x: torch.Tensor) -> str:
    return f"{tuple(x.shape)} {str(x.dtype).removeprefix('torch.')} input"


def _check_value(sub: Any, name: str, x: torch.Tensor, family: str, *args: Any,
                 send: Any = None, atol: float | None = None, rtol: float | None = None,
                 **kwargs: Any) -> None:
    got = _fn(sub, name)(x if send is None else send, *args, **kwargs)
    what = f"{name}({_describe(kwargs, args)}) on a {_input(x)}"
    assert_tensor(got, what, shape=x.shape, dtype=x.dtype)
    if x.is_floating_point() and not bool(torch.isfinite(got).all()):
        index = tuple(int(i) for i in (~torch.isfinite(got)).nonzero()[0])
        raise CheckFailed(f"{what} ({family}): expected finite values, got {got[index].item()} at "
                          f"index {index} where x = {x[index].item():g}")
    assert_close(got, _expected(name, x, *args, **kwargs), what, family=family, atol=atol, rtol=rtol)


def _check_not_mutated(sub: Any, name: str, x: torch.Tensor, **kwargs: Any) -> None:
    audited_call(_fn(sub, name), (x,), kwargs, names=("x",))


def _randn(shape: tuple[int, ...], dtype: torch.dtype = torch.float32, scale: float = 1.0) -> torch.Tensor:
    """randn for any shape, 0-d included."""
    return randn(*shape, dtype=dtype, scale=scale) if shape else randn(1, dtype=dtype, scale=scale)[0]


def _uniform(*shape: int, scale: float, dtype: torch.dtype) -> torch.Tensor:
    """Magnitudes up to `scale`, including both extremes."""
    x = (torch.rand(*shape, dtype=torch.float64) * 2 - 1) * scale
    x.view(-1)[0], x.view(-1)[1] = scale, -scale
    return x.to(dtype)


def _reference_grad(name: str, x: torch.Tensor, g: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
    if name in ("softmax", "log_softmax") and "dim" not in kwargs:
        kwargs = {**kwargs, "dim": -1}  # the contract's default, as in _expected
    leaf = x.detach().double().requires_grad_(True)
    REFERENCES[name](leaf, **kwargs).backward(g.double())
    return leaf.grad.to(x.dtype)


def _check_grad(sub: Any, name: str, x: torch.Tensor, g: torch.Tensor, family: str,
                **kwargs: Any) -> None:
    what = f"gradient of {name}({_describe(kwargs)}) on a {_input(x)}"
    _, grads, _ = vjp(_fn(sub, name), [x], [g], kwargs=kwargs)
    got = grads[0]
    if got is None:
        raise CheckFailed(f"{what} ({family}): no gradient reached x; is the output computed from x "
                          "with differentiable torch operations (no .detach(), no .item())?")
    assert_tensor(got, what, shape=x.shape, dtype=x.dtype)
    if not bool(torch.isfinite(got).all()):
        index = tuple(int(i) for i in (~torch.isfinite(got)).nonzero()[0])
        raise CheckFailed(f"{what} ({family}): expected finite gradients, got {got[index].item()} at "
                          f"index {index} where x = {x[index].item():g} (a NaN gradient usually comes "
                          "from inf * 0 inside an overflowing formula, even in an unused where branch)")
    expected = _reference_grad(name, x, g, kwargs)
    if name in KINK_SLOPES:
        lo, hi = KINK_SLOPES[name](kwargs)
        at_kink = x == 0
        if bool(at_kink.any()):
            # Any subgradient between the one-sided slopes is a legitimate choice at exactly 0.
            slope = got.double() / torch.where(g == 0, torch.ones_like(g), g).double()
            ok = (slope >= min(lo, hi) - 1e-6) & (slope <= max(lo, hi) + 1e-6) | (g == 0)
            bad = at_kink & ~ok
            if bool(bad.any()):
                index = tuple(int(i) for i in bad.nonzero()[0])
                raise CheckFailed(f"{what} ({family}): at x = 0 (index {index}) the gradient is "
                                  f"{got[index].item():g} for an upstream gradient of {g[index].item():g}; "
                                  f"expected a subgradient between {min(lo, hi):g} and {max(lo, hi):g} "
                                  "times it")
            expected = torch.where(at_kink, got, expected)
    assert_close(got, expected, what, family=family)


def test_sigmoid_tanh_silu(sub):
    """Do sigmoid, tanh and silu match torch for any shape (0-d, empty, 4-D), float32 and float64?"""
    for name in ("sigmoid", "tanh", "silu"):
        for shape in [(), (7,), (3, 5), (2, 3, 4, 5), (0, 4)]:
            _check_value(sub, name, _randn(shape, scale=3.0), "odd shapes")
        x64 = randn(3, 5, dtype=torch.float64, scale=3.0)
        _check_value(sub, name, x64, "float64")
        x = randn(4, 6, scale=3.0)
        _check_value(sub, name, x, "non-contiguous", send=noncontig(x))
        _check_not_mutated(sub, name, x)


def test_relu_and_leaky_relu(sub):
    """Do relu and leaky_relu match torch, with the default slope 0.01 and others, zeros included?"""
    x = randn(4, 6, scale=2.0)
    x[0, :3] = 0.0
    x[1, 0] = -0.0
    for name in ("relu", "leaky_relu"):
        _check_value(sub, name, x, "with exact zeros")
        _check_value(sub, name, x.double(), "float64")
        for shape in [(), (2, 3, 4), (0, 3)]:
            _check_value(sub, name, _randn(shape), "odd shapes")
        _check_value(sub, name, x, "non-contiguous", send=noncontig(x))
        _check_not_mutated(sub, name, x)
    for slope in (0.2, 0.0, 0.5):
        _check_value(sub, "leaky_relu", x, f"negative_slope={slope}", negative_slope=slope)
    _check_value(sub, "leaky_relu", x, "negative_slope given positionally", 0.3)
    _check_not_mutated(sub, "leaky_relu", x, negative_slope=0.2)


def test_softmax_dims(sub):
    """Do softmax and log_softmax work along every dim (negative too), dim=-1 by default?"""
    x = randn(2, 3, 4, 5, scale=2.0)
    for name in ("softmax", "log_softmax"):
        _check_value(sub, name, x, "default dim (-1)")
        for dim in range(-4, 4):
            _check_value(sub, name, x, f"dim={dim}", dim=dim)
        _check_value(sub, name, x, "dim given positionally", 1)
        _check_value(sub, name, x, "dim given positionally", -3)
        _check_value(sub, name, randn(7, scale=2.0), "1-D input")
        _check_value(sub, name, randn(3, 1, 4), "a dimension of size 1", dim=1)
        _check_value(sub, name, randn(0, 5), "empty batch", dim=-1)
        _check_value(sub, name, randn(3, 4, dtype=torch.float64, scale=2.0), "float64", dim=0)
        x2 = randn(5, 6, scale=2.0)
        _check_value(sub, name, x2, "non-contiguous", send=noncontig(x2), dim=0)
        _check_value(sub, name, x2, "non-contiguous", send=noncontig(x2), dim=-1)
        _check_not_mutated(sub, name, x2, dim=0)


def test_large_magnitudes(sub):
    """Are all seven finite and correct for inputs up to 1e4 in magnitude, float32 and float64?"""
    for dtype in (torch.float32, torch.float64):
        for scale in (1e2, 1e3, 1e4):
            x = _uniform(3, 9, scale=scale, dtype=dtype)
            family = f"magnitudes up to {scale:g}"
            # Rounding grows with the size of the terms (x - max is up to 2*scale).
            atol = TOLERANCES[dtype][1] + (1e-7 if dtype == torch.float32 else 1e-15) * scale
            for name in ALL:
                if name in ("softmax", "log_softmax"):
                    for dim in (-1, 0):
                        _check_value(sub, name, x, family, atol=atol, dim=dim)
                else:
                    _check_value(sub, name, x, family, atol=atol)


def test_gradcheck(sub):
    """Do all seven pass torch.autograd.gradcheck in float64 (softmax along two dims)?"""
    cases: list[tuple[str, dict[str, Any]]] = [
        ("sigmoid", {}), ("tanh", {}), ("relu", {}), ("leaky_relu", {}),
        ("leaky_relu", {"negative_slope": 0.2}), ("silu", {}),
        ("softmax", {"dim": -1}), ("softmax", {"dim": 0}),
        ("log_softmax", {"dim": -1}), ("log_softmax", {"dim": 0}),
    ]
    for name, kwargs in cases:
        x = randn(2, 3, dtype=torch.float64, scale=2.0)
        # Keep clear of relu's kink, where finite differences are meaningless.
        x = torch.where(x.abs() < 1e-3, torch.full_like(x, 0.5), x)
        gradcheck_remote(_fn(sub, name), [x], f"{name}({_describe(kwargs)})", kwargs=kwargs)


def test_gradients_vs_torch(sub):
    """Are float32 gradients equal to torch's, finite, for magnitudes 1 to 1e4 and any upstream grad?"""
    for scale in (1.0, 30.0, 1e4):
        x = _uniform(3, 7, scale=scale, dtype=torch.float32) if scale > 1 else randn(3, 7)
        g = randn(3, 7, scale=2.0)
        family = f"magnitudes up to {scale:g}, non-unit upstream gradient"
        for name in ALL:
            if name in ("softmax", "log_softmax"):
                for dim in (-1, 0):
                    _check_grad(sub, name, x, g, family, dim=dim)
            elif name == "leaky_relu":
                _check_grad(sub, name, x, g, family)
                _check_grad(sub, name, x, g, family, negative_slope=0.2)
            else:
                _check_grad(sub, name, x, g, family)
    x64 = randn(4, 5, dtype=torch.float64, scale=3.0)
    g64 = randn(4, 5, dtype=torch.float64)
    for name in ALL:
        _check_grad(sub, name, x64, g64, "float64")


def test_gradient_at_zero(sub):
    """At exactly x = 0, are the gradients right (sigmoid 1/4, tanh 1, silu 1/2; any relu subgradient)?"""
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([[0.0, -1.5, 0.0, 2.0, 0.0]], dtype=dtype)
        g = torch.tensor([[1.0, -0.5, 2.5, 1.5, -3.0]], dtype=dtype)
        for name in ("sigmoid", "tanh", "silu", "relu", "leaky_relu"):
            _check_grad(sub, name, x, g, "exact zeros")
        _check_grad(sub, "leaky_relu", x, g, "exact zeros", negative_slope=0.3)
        constant = torch.zeros(2, 4, dtype=dtype)
        gc = randn(2, 4, dtype=dtype)
        for name in ("softmax", "log_softmax"):
            _check_grad(sub, name, constant, gc, "all-equal rows (ties for the max)", dim=-1)


def test_low_precision(sub):
    """Do float16 and bfloat16 inputs give outputs of the same dtype with the right values?"""
    for dtype in (torch.float16, torch.bfloat16):
        x = randn(3, 7, scale=2.5).to(dtype)
        eps = torch.finfo(dtype).eps
        top = float(x.abs().max())
        family = str(dtype).removeprefix("torch.")
        # A few roundings in the input's own precision are fine; computing in float32 and
        # casting back is fine too.
        for name in ALL:
            atol = 4 * eps * (2 + top) if name in ("silu", "leaky_relu", "log_softmax") else 4 * eps
            if name in ("softmax", "log_softmax"):
                for dim in (-1, 0):
                    _check_value(sub, name, x, family, atol=atol, rtol=4 * eps, dim=dim)
            else:
                _check_value(sub, name, x, family, atol=atol, rtol=4 * eps)

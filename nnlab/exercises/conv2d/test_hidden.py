"""Hidden checks for conv2d: the whole contract of its statement (timing lives in test_timing.py)."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from nnlab.grader.checks import (CheckFailed, assert_close, assert_tensor, audited_call,
                                 expect_raises, gradcheck_remote, noncontig, randn,
                                 use_one_thread_in_worker, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

# Error of a float32 sum relative to the sum of the |terms| (not to the result, which can be
# near 0 by cancellation); float64 the same way.
_TERM_RTOL = {torch.float32: 4e-6, torch.float64: 1e-13}


def _expected(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None,
              **kwargs: Any) -> torch.Tensor:
    """F.conv2d in float64 from pristine copies, cast to the input's dtype."""
    return F.conv2d(x.double(), w.double(), None if b is None else b.double(), **kwargs).to(x.dtype)


def _atol(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, **kwargs: Any) -> float:
    """Tolerance from the size of the terms summed: conv of |x| and |w|, plus |b|."""
    terms = F.conv2d(x.double().abs(), w.double().abs(), None if b is None else b.double().abs(),
                     **kwargs)
    top = terms.max().item() if terms.numel() else 0.0
    return _TERM_RTOL[x.dtype] * max(1.0, top)


def _describe(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "defaults"


def _compare(sub: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, family: str,
             **kwargs: Any) -> None:
    args = (x, w) if b is None else (x, w, b)
    got = sub.conv2d(*args, **kwargs)
    what = (f"conv2d of a {tuple(x.shape)} input with a {tuple(w.shape)} kernel"
            f"{'' if b is None else ' and a bias'} ({_describe(kwargs)})")
    assert_close(got, _expected(x, w, b, **kwargs), what, family=family, atol=_atol(x, w, b, **kwargs))


def test_stride_padding_dilation(sub):
    """Do stride, padding and dilation match F.conv2d, as ints and as (height, width) pairs?"""
    use_one_thread_in_worker(sub)
    x = randn(2, 3, 11, 13)
    w, b = randn(5, 3, 3, 3), randn(5)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("stride as an int", {"stride": 2}),
        ("padding as an int", {"padding": 2}),
        ("dilation as an int", {"dilation": 2}),
        ("stride as a pair", {"stride": (2, 3)}),
        ("padding as a pair", {"padding": (1, 3)}),
        ("dilation as a pair", {"dilation": (1, 3)}),
        ("all three as pairs", {"stride": (3, 1), "padding": (2, 0), "dilation": (2, 1)}),
        ("all three as pairs", {"stride": (1, 2), "padding": (0, 2), "dilation": (3, 2)}),
        ("pairs given as lists", {"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2]}),
        ("stride larger than the kernel", {"stride": 4, "padding": 1}),
    ]
    for family, kwargs in cases:
        _compare(sub, x, w, b, family, **kwargs)
    # A non-square kernel with pairs: a swapped (height, width) cannot cancel out.
    w2 = randn(4, 3, 2, 4)
    _compare(sub, x, w2, None, "non-square kernel with pairs",
             stride=(2, 1), padding=(1, 2), dilation=(2, 1))


def test_groups(sub):
    """Do grouped convolutions (groups=2, 3, depthwise, depthwise with a multiplier) match F.conv2d?"""
    use_one_thread_in_worker(sub)
    cases = [
        ("groups=2", (2, 4, 7, 8), (6, 2, 3, 3), {"groups": 2}),
        ("groups=3 with stride and padding", (1, 6, 9, 7), (9, 2, 3, 2),
         {"groups": 3, "stride": 2, "padding": (1, 0)}),
        ("depthwise (groups = channels)", (2, 5, 8, 8), (5, 1, 3, 3), {"groups": 5, "padding": 1}),
        ("depthwise with a channel multiplier", (2, 3, 6, 7), (6, 1, 3, 3),
         {"groups": 3, "dilation": (1, 2)}),
        ("groups=4 with one filter per group", (1, 8, 5, 5), (4, 2, 1, 1), {"groups": 4}),
    ]
    for family, x_shape, w_shape, kwargs in cases:
        x, w, b = randn(*x_shape), randn(*w_shape), randn(w_shape[0])
        _compare(sub, x, w, b, family, **kwargs)
        _compare(sub, x, w, None, family + ", no bias", **kwargs)


def test_bias(sub):
    """Is the bias optional (None, omitted, positional or keyword) and added per output channel?"""
    use_one_thread_in_worker(sub)
    x, w = randn(2, 3, 6, 7), randn(4, 3, 3, 3)
    b = randn(4, scale=10.0)
    expected = _expected(x, w, None)
    atol = _atol(x, w, None)
    assert_close(sub.conv2d(x, w), expected, "conv2d(x, w) without a bias", family="no bias", atol=atol)
    assert_close(sub.conv2d(x, w, None), expected, "conv2d(x, w, None)", family="bias None", atol=atol)
    assert_close(sub.conv2d(x, w, bias=None, stride=1), expected, "conv2d(x, w, bias=None, stride=1)",
                 family="bias None as a keyword", atol=atol)
    with_bias = _expected(x, w, b)
    atol_b = _atol(x, w, b)
    assert_close(sub.conv2d(x, w, b), with_bias, "conv2d(x, w, b)", family="large bias", atol=atol_b)
    assert_close(sub.conv2d(x, w, bias=b), with_bias, "conv2d(x, w, bias=b)",
                 family="bias as a keyword", atol=atol_b)


def test_odd_sizes(sub):
    """Does conv2d handle odd sizes: non-square and even kernels, 1x1, kernel = padded input, batch 1, large values?"""
    use_one_thread_in_worker(sub)
    cases = [
        ("non-square input and kernel", (3, 2, 9, 5), (3, 2, 1, 5), None, {}),
        ("even kernel", (2, 3, 8, 7), (2, 3, 4, 2), None, {"padding": 1}),
        ("1x1 kernel", (2, 7, 5, 6), (3, 7, 1, 1), None, {}),
        ("kernel as large as the padded input", (2, 2, 4, 5), (3, 2, 6, 5), None, {"padding": (1, 0)}),
        ("batch of 1, one output channel", (1, 4, 6, 6), (1, 4, 3, 3), None, {"stride": 2}),
        ("input of height 1", (2, 3, 1, 9), (2, 3, 1, 3), None, {}),
        ("output of 1x1 after striding", (1, 2, 5, 5), (2, 2, 3, 3), None, {"stride": 5}),
        ("large magnitudes", (2, 3, 7, 6), (4, 3, 3, 3), 1e3, {"padding": 1}),
    ]
    for family, x_shape, w_shape, scale, kwargs in cases:
        x = randn(*x_shape, scale=scale or 1.0)
        w, b = randn(*w_shape, scale=scale or 1.0), randn(w_shape[0], scale=scale or 1.0)
        _compare(sub, x, w, b, family, **kwargs)


def test_noncontiguous_and_dtypes(sub):
    """Does conv2d handle non-contiguous tensors and float64, without modifying its inputs?"""
    use_one_thread_in_worker(sub)
    x, w, b = randn(2, 4, 7, 6), randn(6, 2, 3, 3), randn(6)
    kwargs = {"padding": 1, "groups": 2}
    got = sub.conv2d(noncontig(x), noncontig(w), noncontig(b), **kwargs)
    assert_close(got, _expected(x, w, b, **kwargs), "conv2d of non-contiguous input, weight and bias",
                 family="non-contiguous", atol=_atol(x, w, b, **kwargs))
    x64, w64, b64 = randn(2, 3, 6, 5, dtype=torch.float64), randn(4, 3, 2, 3, dtype=torch.float64), \
        randn(4, dtype=torch.float64)
    kwargs64 = {"stride": (2, 1), "dilation": (1, 2)}
    assert_close(sub.conv2d(x64, w64, b64, **kwargs64), _expected(x64, w64, b64, **kwargs64),
                 "conv2d in float64", family="float64", atol=_atol(x64, w64, b64, **kwargs64))
    result = audited_call(sub.conv2d, (x, w, b), kwargs, names=("input", "weight", "bias"))
    assert_tensor(result, "conv2d output")


def test_errors_like_torch(sub):
    """Does conv2d raise RuntimeError, like F.conv2d, for a channel mismatch and a kernel larger than the input?"""
    # First a valid call: NotImplementedError is a RuntimeError too, and must not pass.
    x, w = randn(1, 2, 4, 4), randn(3, 2, 3, 3)
    assert_close(sub.conv2d(x, w), _expected(x, w, None), "conv2d of a valid (1, 2, 4, 4) input",
                 family="valid input", atol=_atol(x, w, None))
    # The valid inputs nearest the "does not fit" error: a kernel exactly the input's size, and
    # a kernel larger than the input that fits once padded (a 1x1 output each).
    for family, w_shape, kwargs in (("a kernel as large as the input", (3, 2, 4, 4), {}),
                                    ("a kernel larger than the input, fitting once padded", (3, 2, 6, 6),
                                     {"padding": 1})):
        w = randn(*w_shape)
        assert_close(sub.conv2d(x, w, **kwargs), _expected(x, w, None, **kwargs),
                     f"conv2d of a (1, 2, 4, 4) input with a {w_shape} kernel", family=family,
                     atol=_atol(x, w, None, **kwargs))
    with expect_raises(RuntimeError, "conv2d of a (2, 3, 6, 6) input with a (4, 5, 3, 3) kernel "
                                     "(5 input channels expected, 3 given)"):
        sub.conv2d(randn(2, 3, 6, 6), randn(4, 5, 3, 3))
    with expect_raises(RuntimeError, "conv2d of a (1, 2, 4, 4) input with a (3, 2, 6, 6) kernel "
                                     "and padding=0 (the kernel does not fit)"):
        sub.conv2d(randn(1, 2, 4, 4), randn(3, 2, 6, 6))


def test_gradients(sub):
    """Do gradients for input, weight and bias pass gradcheck (float64) and match F.conv2d's?"""
    use_one_thread_in_worker(sub)
    grouped = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}
    gradcheck_remote(sub.conv2d, [randn(2, 4, 5, 6, dtype=torch.float64),
                                  randn(4, 2, 3, 2, dtype=torch.float64), randn(4, dtype=torch.float64)],
                     "conv2d(input, weight, bias) with stride, padding, dilation pairs and groups=2",
                     kwargs=grouped, fast_mode=True)
    gradcheck_remote(sub.conv2d, [randn(1, 2, 3, 3, dtype=torch.float64), randn(2, 2, 2, 2, dtype=torch.float64)],
                     "conv2d(input, weight) without a bias, padding=1", kwargs={"padding": 1},
                     fast_mode=True)
    # float32, depthwise with pairs: grads of all three against autograd through F.conv2d.
    kwargs = {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1), "groups": 3}
    x, w, b = randn(2, 3, 7, 8), randn(6, 1, 3, 3), randn(6)
    refs = [t.double().requires_grad_(True) for t in (x, w, b)]
    out_ref = F.conv2d(*refs, **kwargs)
    grad_out = randn(*out_ref.shape)
    out_ref.backward(grad_out.double())
    out, grads, _ = vjp(sub.conv2d, [x, w, b], [grad_out], kwargs=kwargs)
    assert_close(out, out_ref.detach().float(), "depthwise conv2d forward", family="gradients",
                 atol=_atol(x, w, b, **kwargs))
    for name, got, ref in zip(("input", "weight", "bias"), grads, refs):
        if got is None:
            raise CheckFailed(f"no gradient reached the {name}: is it used in a differentiable way?")
        scale = max(1.0, ref.grad.abs().max().item())
        assert_close(got, ref.grad.float(), f"gradient of the depthwise conv2d with respect to the {name}",
                     family="float32", atol=1e-5 * scale)

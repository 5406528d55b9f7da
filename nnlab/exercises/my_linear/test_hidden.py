"""Hidden checks for my_linear: the whole contract of its statement."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.grader.checks import (CheckFailed, assert_close, assert_equal, assert_tensor,
                                 gradcheck_remote, load_reference_state, noncontig, parameters_of,
                                 randn, repr_of, state_dict_of, vjp)


def _reference(layer_in: int, layer_out: int, bias: bool = True) -> nn.Linear:
    return nn.Linear(layer_in, layer_out, bias=bias)


def _expected(x: torch.Tensor, reference: nn.Linear) -> torch.Tensor:
    # Computed in float64 from pristine copies, then cast to the input's dtype.
    w = reference.weight.detach().double()
    b = reference.bias.detach().double() if reference.bias is not None else None
    return F.linear(x.double(), w, b).to(x.dtype)


def test_parameters(sub):
    """Are `weight` (out, in) and `bias` (out,) registered parameters, for non-square sizes?"""
    for in_f, out_f in [(7, 3), (2, 9)]:
        params = parameters_of(sub.MyLinear(in_f, out_f))
        assert_equal(sorted(params), ["bias", "weight"], f"parameter names of MyLinear({in_f}, {out_f})")
        assert_tensor(params["weight"], "weight", shape=(out_f, in_f), dtype=torch.float32)
        assert_tensor(params["bias"], "bias", shape=(out_f,), dtype=torch.float32)


def test_no_bias(sub):
    """With bias=False, is `bias` None, absent from the state_dict, and the output bias-free?"""
    layer = sub.MyLinear(5, 4, bias=False)
    params = parameters_of(layer)
    assert_equal(sorted(params), ["weight"], "parameter names of MyLinear(5, 4, bias=False)")
    assert_equal(layer.bias, None, "MyLinear(5, 4, bias=False).bias")
    assert_equal(sorted(state_dict_of(layer)), ["weight"], "state_dict keys with bias=False")
    reference = _reference(5, 4, bias=False)
    load_reference_state(layer, reference)
    x = randn(6, 5)
    assert_close(layer(x), _expected(x, reference), "forward without bias", family="normal batch")


def test_initialization(sub):
    """Are weight and bias uniform in +-1/sqrt(in_features), as nn.Linear initializes them?"""
    # in_features = 1 too: its bound is 1, and a formula special-cased there must still draw values.
    for in_f, out_f in ((400, 300), (1, 300)):
        _judge_uniform(parameters_of(sub.MyLinear(in_f, out_f)), in_f, out_f)


def _judge_uniform(params: dict[str, torch.Tensor], in_f: int, out_f: int) -> None:
    bound = 1 / math.sqrt(in_f)
    for name, count in (("weight", in_f * out_f), ("bias", out_f)):
        values = params[name].double().flatten()
        top = values.abs().max().item()
        if top > bound * (1 + 1e-6):
            raise CheckFailed(f"{name} of MyLinear({in_f}, {out_f}): largest |value| is {top:.4g}, "
                              f"above the bound 1/sqrt(in_features) = {bound:.4g}")
        if top < 0.9 * bound:
            raise CheckFailed(f"{name} of MyLinear({in_f}, {out_f}): values only reach {top:.4g}; "
                              f"uniform in +-{bound:.4g} should come close to the bound")
        std, expected_std = values.std().item(), bound / math.sqrt(3)
        tolerance = 0.03 if count > 10_000 else 0.15
        if abs(std / expected_std - 1) > tolerance:
            raise CheckFailed(f"{name} of MyLinear({in_f}, {out_f}): std {std:.4g}, expected about "
                              f"{expected_std:.4g} for uniform(-{bound:.4g}, {bound:.4g})")
        mean = values.mean().item()
        if abs(mean) > 5 * expected_std / math.sqrt(count):
            raise CheckFailed(f"{name} of MyLinear({in_f}, {out_f}): mean {mean:.4g}, expected about 0")


def test_forward_parity(sub):
    """Does forward match nn.Linear for square, non-square, odd and large-magnitude inputs?"""
    cases = [("square", 6, 6, 4, 1.0), ("non-square", 7, 3, 5, 1.0), ("one output", 13, 1, 3, 1.0),
             ("one input", 1, 17, 9, 1.0), ("large magnitudes", 10, 8, 6, 1e3)]
    for family, in_f, out_f, batch, scale in cases:
        reference = _reference(in_f, out_f)
        layer = sub.MyLinear(in_f, out_f)
        load_reference_state(layer, reference)
        x = randn(batch, in_f, scale=scale)
        expected = _expected(x, reference)
        # Rounding in float32 grows with the size of the terms summed, not with the result.
        atol = 1e-5 * scale * max(1.0, math.sqrt(in_f))
        assert_close(layer(x), expected, f"MyLinear({in_f}, {out_f}) forward", family=family, atol=atol)


def test_leading_dims(sub):
    """Does forward accept any leading dimensions, (in,) and (2, 3, 4, in) alike?"""
    reference = _reference(5, 3)
    layer = sub.MyLinear(5, 3)
    load_reference_state(layer, reference)
    for shape in [(5,), (2, 3, 4, 5), (1, 1, 5)]:
        x = randn(*shape)
        assert_close(layer(x), _expected(x, reference), f"forward on a {shape} input",
                     family="leading dimensions")


def test_noncontiguous_and_dtypes(sub):
    """Does forward handle non-contiguous inputs and a float64 layer?"""
    reference = _reference(6, 4)
    layer = sub.MyLinear(6, 4)
    load_reference_state(layer, reference)
    x = randn(5, 6)
    assert_close(layer(noncontig(x)), _expected(x, reference), "forward on a non-contiguous input",
                 family="non-contiguous")
    x = randn(2, 3, 6)
    assert_close(layer(noncontig(x)), _expected(x, reference), "forward on a non-contiguous (2, 3, 6) input",
                 family="non-contiguous, leading dimensions")
    layer64 = layer.double()
    x64 = randn(5, 6, dtype=torch.float64)
    assert_close(layer64(x64), _expected(x64, reference), "forward of a float64 layer",
                 family="float64")


def test_gradients(sub):
    """Do gradients match: gradcheck in float64, and weight/bias grads equal to nn.Linear's?"""
    reference = _reference(5, 3).double()
    layer = sub.MyLinear(5, 3).double()
    load_reference_state(layer, reference)
    x = randn(4, 5, dtype=torch.float64)
    gradcheck_remote(layer, [x], "MyLinear(5, 3) input gradient", module=layer)
    grad_out = randn(4, 3, dtype=torch.float64)
    _, grads, param_grads = vjp(layer, [x], [grad_out], module=layer)
    x_ref = x.clone().requires_grad_(True)
    reference(x_ref).backward(grad_out)
    assert_close(grads[0], x_ref.grad, "gradient with respect to the input")
    for name in ("weight", "bias"):
        got = param_grads.get(name)
        if got is None:
            raise CheckFailed(f"no gradient reached `{name}`: is it an nn.Parameter used in forward?")
        assert_close(got, getattr(reference, name).grad, f"gradient of {name}")


def test_repr(sub):
    """Does repr() show in_features, out_features and bias like nn.Linear?"""
    for args, kwargs, expected in [((4, 3), {}, "in_features=4, out_features=3, bias=True"),
                                   ((2, 7), {"bias": False}, "in_features=2, out_features=7, bias=False")]:
        text = repr_of(sub.MyLinear(*args, **kwargs))
        if expected not in text:
            raise CheckFailed(f"repr(MyLinear{args}): expected it to contain '{expected}', got {text!r}")

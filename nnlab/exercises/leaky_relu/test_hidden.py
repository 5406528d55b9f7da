"""Hidden checks for leaky_relu: the whole contract of its statement."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import (CheckFailed, RequiresGrad, assert_close, assert_equal,
                                 assert_not_view_of_input, assert_tensor, audited_call, buffers_of,
                                 gradcheck_remote, noncontig, parameters_of, randn, state_dict_of, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _expected(x: torch.Tensor, slope: float) -> torch.Tensor:
    # The reference in float64 from a pristine copy, cast back to the input's dtype.
    return F.leaky_relu(x.double(), slope).to(x.dtype)


def _away_from_zero(x: torch.Tensor, margin: float = 0.1) -> torch.Tensor:
    # The derivative at exactly 0 is a free choice (any subgradient); keep gradient inputs away.
    return x + margin * torch.sign(x)


def _sample(shape: tuple[int, ...]) -> torch.Tensor:
    # randn() needs at least one size; a 0-d input is drawn as one value and reshaped.
    return randn(*shape) if shape else randn(1).reshape(())


def _with_zeros(x: torch.Tensor) -> torch.Tensor:
    # A few exact zeros: the forward value there is 0 whatever the branch.
    x = x.clone()
    x.view(-1)[::5] = 0.0
    return x


def test_parameter_free(sub):
    """Is LeakyReLU free of parameters and buffers, with an empty state_dict?"""
    for label, act in (("LeakyReLU()", sub.LeakyReLU()), ("LeakyReLU(0.2)", sub.LeakyReLU(0.2))):
        assert_equal(sorted(parameters_of(act)), [], f"parameter names of {label} (the slope is a plain number)")
        assert_equal(sorted(buffers_of(act)), [], f"buffer names of {label}")
        assert_equal(sorted(state_dict_of(act)), [], f"state_dict keys of {label}")


def test_forward_parity(sub):
    """Does forward match nn.LeakyReLU for every shape: scalar, vector, 4-D, empty?"""
    cases = [
        ("default slope", (), {}, 0.01),
        ("slope 0.2", (0.2,), {}, 0.2),
        ("slope 0.05 by keyword", (), {"negative_slope": 0.05}, 0.05),
    ]
    shapes = [(7,), (3, 5), (2, 3, 4, 5), (), (0, 4), (1, 1, 9)]
    for family, args, kwargs, slope in cases:
        act = sub.LeakyReLU(*args, **kwargs)
        for shape in shapes:
            x = _with_zeros(_sample(shape)) if len(shape) and 0 not in shape else _sample(shape)
            assert_close(act(x), _expected(x, slope), f"forward on a {shape} input", family=family)


def test_unusual_slopes(sub):
    """Is the output right for slopes 0, 1, negative and above 1 (max(x, s*x) is right only up to 1)?"""
    for slope in (0.0, 1.0, -0.5, 2.5, 1e-4):
        act = sub.LeakyReLU(slope)
        x = randn(9, 11)
        assert_close(act(x), _expected(x, slope), f"LeakyReLU({slope}) forward", family=f"slope {slope}")


def test_large_magnitudes(sub):
    """Is the output exact for inputs of magnitude 1e4 and far beyond (1e30), with no inf or NaN?"""
    act = sub.LeakyReLU(0.1)
    x = randn(8, 13, scale=1e4)
    assert_close(act(x), _expected(x, 0.1), "LeakyReLU(0.1) forward", family="magnitudes up to 1e4")
    extreme = torch.tensor([1e30, -1e30, 3e37, -3e37, 1e-30, -1e-30, 0.0, -0.0], dtype=torch.float32)
    assert_close(act(extreme), _expected(extreme, 0.1), "LeakyReLU(0.1) forward",
                 family="extreme float32 magnitudes")
    x64 = randn(5, 6, dtype=torch.float64, scale=1e200)
    assert_close(act(x64), _expected(x64, 0.1), "LeakyReLU(0.1) forward", family="float64 up to 1e200")


def test_dtypes_and_layout(sub):
    """Does forward keep the input's dtype (float64, float16, bfloat16) and handle non-contiguous inputs?"""
    act = sub.LeakyReLU(0.3)
    for dtype in (torch.float64, torch.float16, torch.bfloat16):
        x = randn(5, 7, dtype=dtype)
        assert_close(act(x), _expected(x, 0.3), "LeakyReLU(0.3) forward", family=f"{dtype} input")
    x = randn(6, 8)
    assert_close(act(noncontig(x)), _expected(x, 0.3), "LeakyReLU(0.3) forward", family="non-contiguous input")
    x = randn(3, 4, 5)
    assert_close(act(noncontig(x)), _expected(x, 0.3), "LeakyReLU(0.3) forward",
                 family="non-contiguous 3-D input")


def test_input_unchanged(sub):
    """Is the input left untouched (values, requires_grad, .grad), the output a new tensor?"""
    for slope, shape, send in ((0.2, (6, 9), None), (0.2, (2, 3, 4), None), (1.0, (5, 4), None),
                               (0.2, (4, 5), "leaf")):
        act = sub.LeakyReLU(slope)
        x = randn(*shape)
        result = audited_call(act, (RequiresGrad(x) if send else x,), names=("x",))
        family = "an input that requires grad" if send else "normal batch"
        assert_close(result, _expected(x, slope), f"LeakyReLU({slope}) forward on a {shape} input",
                     family=family)
        assert_not_view_of_input(result, f"LeakyReLU({slope}) forward on a {shape} input")


def test_gradients(sub):
    """Do gradients match nn.LeakyReLU's (gradcheck in float64, grads scaled by grad_output)?"""
    for slope in (0.01, 0.3, -0.5, 2.0):
        act = sub.LeakyReLU(slope)
        x = _away_from_zero(randn(3, 4, dtype=torch.float64))
        gradcheck_remote(act, [x], f"LeakyReLU({slope}) input gradient")
        x32 = _away_from_zero(randn(5, 6))
        grad_out = randn(5, 6)
        out, grads, _ = vjp(act, [x32], [grad_out])
        assert_close(out, _expected(x32, slope), f"LeakyReLU({slope}) forward during backward")
        got = grads[0]
        if got is None:
            raise CheckFailed(f"LeakyReLU({slope}): no gradient reached the input; is the output built "
                              "from it with differentiable operations?")
        expected = torch.where(x32.double() > 0, grad_out.double(), grad_out.double() * slope).float()
        assert_tensor(got, f"gradient of LeakyReLU({slope}) with respect to its input", shape=(5, 6))
        assert_close(got, expected, f"gradient of LeakyReLU({slope}) with respect to its input",
                     family="random grad_output")

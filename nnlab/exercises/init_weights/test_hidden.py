"""Hidden checks for init_weights: the whole contract of its statement.

The distribution checks are statistical. Every threshold is Z = 6 standard deviations of the
sampling noise of the statistic it bounds, so a correct submission fails one comparison with
probability about 2e-9 (benchmarks/statistical_false_failures_init.py runs this exact logic
1000 times with fresh seeds), while the sizes are large enough that a wrong gain or fan is
tens of standard deviations away.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, Remote, RequiresGrad, assert_equal,
                                 assert_same_tensor_returned, assert_tensor, call_returning_args,
                                 evaluate, expect_raises, load_reference_state, parameters_of)

Z = 6.0
NORMAL_TAIL = math.erfc(2 / math.sqrt(2))  # P(|X| > 2 sigma) for a normal X: 0.0455


# -- the decision logic (shared with the benchmark) ---------------------------------------------
def judge_normal(values: Any, std: float, what: str) -> None:
    """Fails unless `values` look like N(0, std^2): mean, standard deviation and 2-sigma tails."""
    v = assert_tensor(values, what).detach().double().flatten()
    n = v.numel()
    if not bool(torch.isfinite(v).all()):
        raise CheckFailed(f"{what}: contains NaN or inf values")
    mean = v.mean().item()
    if abs(mean) > Z * std / math.sqrt(n):
        raise CheckFailed(f"{what}: mean {mean:.4g}, expected about 0 (std {std:.4g} over {n} values)")
    sample_std = v.std().item()
    tolerance = Z / math.sqrt(2 * n)
    if abs(sample_std / std - 1) > tolerance:
        raise CheckFailed(f"{what}: std {sample_std:.5g}, expected {std:.5g} (within {tolerance:.1%} "
                          f"for {n} values): check the gain and the fan")
    tail = (v.abs() > 2 * std).double().mean().item()
    tail_tolerance = max(0.01, Z * math.sqrt(NORMAL_TAIL * (1 - NORMAL_TAIL) / n))
    if abs(tail - NORMAL_TAIL) > tail_tolerance:
        raise CheckFailed(f"{what}: {tail:.2%} of the values lie beyond 2 std, expected "
                          f"{NORMAL_TAIL:.2%} for a normal distribution (a uniform one has none)")


def judge_uniform(values: Any, bound: float, what: str) -> None:
    """Fails unless `values` look like U(-bound, bound): range, reach, mean and std."""
    v = assert_tensor(values, what).detach().double().flatten()
    n = v.numel()
    if not bool(torch.isfinite(v).all()):
        raise CheckFailed(f"{what}: contains NaN or inf values")
    top = v.abs().max().item()
    if top > bound * (1 + 1e-5):
        raise CheckFailed(f"{what}: largest |value| {top:.5g}, beyond the bound {bound:.5g} of a "
                          "uniform distribution")
    # P(max |v| < bound * (1 - 30/n)) = (1 - 30/n)^n, about e^-30, for a correct fill.
    if top < bound * (1 - 30 / n):
        raise CheckFailed(f"{what}: values only reach {top:.5g}; uniform in +-{bound:.5g} comes "
                          f"close to the bound with {n} values")
    std = bound / math.sqrt(3)
    mean = v.mean().item()
    if abs(mean) > Z * std / math.sqrt(n):
        raise CheckFailed(f"{what}: mean {mean:.4g}, expected about 0")
    sample_std = v.std().item()
    # The sample std of a uniform is less noisy than a normal's: this bound is conservative.
    tolerance = Z / math.sqrt(2 * n)
    if abs(sample_std / std - 1) > tolerance:
        raise CheckFailed(f"{what}: std {sample_std:.5g}, expected {std:.5g} = bound / sqrt(3) for "
                          f"uniform in +-{bound:.5g}")


def kaiming_std(shape: tuple[int, ...], a: float = 0, mode: str = "fan_in",
                nonlinearity: str = "leaky_relu") -> float:
    """The reference: torch.nn.init's own fan and gain rules."""
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))
    fan = fan_in if mode == "fan_in" else fan_out
    return nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)


def xavier_bound(shape: tuple[int, ...], gain: float = 1.0) -> float:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape, device="meta"))
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


def describe(name: str, shape: tuple[int, ...], kwargs: dict[str, Any], dtype: torch.dtype) -> str:
    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    kind = "" if dtype == torch.float32 else f"{str(dtype).removeprefix('torch.')} "
    return f"{name}({kind}tensor of shape {shape}{args})"


# Non-square shapes throughout: fan_in and fan_out differ by a factor 2 to 4, so a swapped
# mode or a forgotten receptive field moves the std by 40 % or more.
KAIMING_FAN_CASES: list[tuple[tuple[int, ...], dict[str, Any], torch.dtype]] = [
    ((300, 900), {}, torch.float32),
    ((300, 900), {"mode": "fan_out"}, torch.float32),
    ((64, 16, 5, 5), {}, torch.float32),
    ((64, 16, 5, 5), {"mode": "fan_out"}, torch.float32),
    ((128, 32, 7), {"mode": "fan_out", "nonlinearity": "relu"}, torch.float32),
    ((32, 16, 3, 3, 3), {}, torch.float32),
    ((200, 500), {"mode": "fan_out"}, torch.float64),
    # A size-1 dimension is an ordinary shape (nn.Linear(4096, 1), a one-output head): only a
    # size-0 one means nothing to fill. 4096 values: tolerance 6.6 % against a std it misses by 100 %.
    ((1, 4096), {}, torch.float32),
    ((4096, 1), {"mode": "fan_out"}, torch.float32),
]
# 240,000 values where the gains are close (leaky_relu's a=0.2 moves the std by 2 %, the
# tolerance there is 0.9 %); 60,000 (tolerance 1.7 %) where they differ by 25 % or more.
KAIMING_GAIN_CASES: list[tuple[tuple[int, ...], dict[str, Any], torch.dtype]] = [
    ((400, 600), {"a": 0.5}, torch.float32),
    ((400, 600), {"a": 0.2, "mode": "fan_out"}, torch.float32),
    ((150, 400), {"nonlinearity": "relu"}, torch.float32),
    ((150, 400), {"a": 0.5, "nonlinearity": "relu"}, torch.float32),
    ((150, 400), {"nonlinearity": "tanh"}, torch.float32),
    ((150, 400), {"nonlinearity": "linear"}, torch.float32),
    ((150, 400), {"nonlinearity": "sigmoid"}, torch.float32),
    ((150, 400), {"nonlinearity": "conv2d"}, torch.float32),
    ((150, 400), {"nonlinearity": "selu"}, torch.float32),
]
XAVIER_CASES: list[tuple[tuple[int, ...], dict[str, Any], torch.dtype]] = [
    ((300, 900), {}, torch.float32),
    ((64, 16, 5, 5), {}, torch.float32),
    ((500, 200), {"gain": 2.0}, torch.float32),
    ((128, 32, 7), {"gain": 5.0 / 3}, torch.float32),
    ((200, 500), {"gain": math.sqrt(2.0)}, torch.float64),
]
# The model of the initialize_weights checks, built in the worker from this expression.
MODEL_EXPRESSION = (
    "nn.Sequential(nn.Conv2d(16, 64, 5), nn.BatchNorm2d(64), nn.ReLU(),"
    " nn.Conv2d(64, 32, 3, bias=False), nn.BatchNorm2d(32, affine=False), nn.Flatten(),"
    " nn.Linear(1200, 256), nn.BatchNorm1d(256), nn.ReLU(),"
    " nn.Sequential(nn.Linear(256, 700), nn.ReLU()), nn.Linear(700, 10, bias=False))"
)
# (parameter, std) for the weights large enough to judge: Conv2d fan_out, Linear fan_in, gain sqrt(2).
MODEL_WEIGHTS: list[tuple[str, float]] = [
    ("0.weight", math.sqrt(2 / (64 * 25))),
    ("3.weight", math.sqrt(2 / (32 * 9))),
    ("6.weight", math.sqrt(2 / 1200)),
    ("9.0.weight", math.sqrt(2 / 256)),
    ("10.weight", math.sqrt(2 / 700)),
]
MODEL_ZERO_BIASES = ["0.bias", "1.bias", "6.bias", "7.bias", "9.0.bias"]
MODEL_UNIT_WEIGHTS = ["1.weight", "7.weight"]


def build_model() -> nn.Module:
    """The same model in the grader (for its state_dict): the expression with nn in scope."""
    return eval(MODEL_EXPRESSION, {"nn": nn})  # our own constant expression


def _fill(sub: Remote, name: str, shape: tuple[int, ...], kwargs: dict[str, Any],
          dtype: torch.dtype) -> torch.Tensor:
    what = describe(name, shape, kwargs, dtype)
    got = getattr(sub, name)(torch.full(shape, 7.0, dtype=dtype), **kwargs)
    return assert_tensor(got, what, shape=shape, dtype=dtype)


# -- kaiming_normal_ ----------------------------------------------------------------------------
def test_kaiming_fan_modes(sub):
    """Does kaiming_normal_ use fan_in / fan_out with the receptive field of conv weights?"""
    for shape, kwargs, dtype in KAIMING_FAN_CASES:
        judge_normal(_fill(sub, "kaiming_normal_", shape, kwargs, dtype), kaiming_std(shape, **kwargs),
                     describe("kaiming_normal_", shape, kwargs, dtype))


def test_kaiming_gains(sub):
    """Does kaiming_normal_ use torch's gain for relu, leaky_relu with a, tanh, linear, sigmoid, selu?"""
    for shape, kwargs, dtype in KAIMING_GAIN_CASES:
        judge_normal(_fill(sub, "kaiming_normal_", shape, kwargs, dtype), kaiming_std(shape, **kwargs),
                     describe("kaiming_normal_", shape, kwargs, dtype))


# -- xavier_uniform_ ----------------------------------------------------------------------------
def test_xavier_fans_and_gain(sub):
    """Is xavier_uniform_ uniform in +-gain*sqrt(6/(fan_in+fan_out)) for linear and conv weights?"""
    for shape, kwargs, dtype in XAVIER_CASES:
        judge_uniform(_fill(sub, "xavier_uniform_", shape, kwargs, dtype), xavier_bound(shape, **kwargs),
                      describe("xavier_uniform_", shape, kwargs, dtype))


# -- both ---------------------------------------------------------------------------------------
def test_in_place_and_no_grad(sub):
    """Do both fill their argument in place, return that same tensor, and work on parameters?"""
    for name, std_or_bound, judge in (("kaiming_normal_", kaiming_std((120, 250)), judge_normal),
                                      ("xavier_uniform_", xavier_bound((120, 250)), judge_uniform)):
        sentinel = torch.full((120, 250), 7.0)
        result, args = call_returning_args(getattr(sub, name), (sentinel,), {})
        what = f"{name}(tensor of shape (120, 250))"
        result = assert_tensor(result, f"the tensor returned by {what}", shape=(120, 250), dtype=torch.float32)
        filled = assert_tensor(args[0] if args else None, f"the argument after {what}", shape=(120, 250),
                               dtype=torch.float32)
        if bool((filled == 7.0).all()):
            raise CheckFailed(f"{what} left its argument unchanged: it must fill the tensor in place")
        if not torch.equal(result, filled):
            raise CheckFailed(f"{what} returned values that differ from its argument's: fill the "
                              "argument in place and return it")
        judge(filled, std_or_bound, f"the argument after {what}")
        assert_same_tensor_returned(result, f"{name}(t) (the function returns its argument t itself)")
        # A leaf that requires grad refuses in-place changes unless they run under no_grad.
        result, args = call_returning_args(getattr(sub, name), (RequiresGrad(torch.zeros(120, 250)),), {})
        judge(result, std_or_bound, f"{name} on a tensor that requires grad")
        assert_same_tensor_returned(result, f"{name}(t) on a tensor t that requires grad")
        # A real nn.Parameter inside a module, changed in place and still a trainable leaf.
        layer = evaluate(sub, "nn.Linear(250, 120)", label="nn.Linear(250, 120)")
        evaluate(sub, "getattr(submission, name)(layer.weight)", label=f"{name}(layer.weight)", name=name,
                 layer=layer)
        weight = parameters_of(layer).get("weight")
        judge(weight, std_or_bound, f"nn.Linear(250, 120).weight after {name}(layer.weight)")
        leaf = evaluate(sub, "layer.weight.requires_grad and layer.weight.grad_fn is None",
                        label="layer.weight is still a leaf", layer=layer)
        assert_equal(leaf, True, f"after {name}(layer.weight), the weight is still a leaf that "
                                 "requires grad")


def test_bad_arguments(sub):
    """Is ValueError raised for tensors of fewer than 2 dimensions, a bad mode or nonlinearity?"""
    for name in ("kaiming_normal_", "xavier_uniform_"):
        for shape in [(5,), ()]:
            with expect_raises(ValueError, f"{name}(tensor of shape {shape})"):
                getattr(sub, name)(torch.zeros(shape))
    with expect_raises(ValueError, "kaiming_normal_(tensor of shape (4, 5), mode='fan_avg')"):
        sub.kaiming_normal_(torch.zeros(4, 5), mode="fan_avg")
    with expect_raises(ValueError, "kaiming_normal_(tensor of shape (4, 5), nonlinearity='gelu')"):
        sub.kaiming_normal_(torch.zeros(4, 5), nonlinearity="gelu")


# -- initialize_weights --------------------------------------------------------------------------
def _initialized_model(sub: Remote) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Builds the model in the worker with scrambled norm/bias values, initializes it, reads it."""
    model = evaluate(sub, MODEL_EXPRESSION, label="the model")
    scrambled = build_model()
    with torch.no_grad():
        for name, param in scrambled.named_parameters():
            if name.endswith("bias") or name in MODEL_UNIT_WEIGHTS:
                # BatchNorm starts at weight 1, bias 0: move them so the check sees the reset.
                param.copy_(torch.randn_like(param) * 0.5 + (1.0 if name.endswith("weight") else 0.0))
    load_reference_state(model, scrambled)
    before = {k: v.detach().clone() for k, v in scrambled.named_parameters()}
    sub.initialize_weights(model)
    return parameters_of(model), before


def test_initialize_weights_conv_linear(sub):
    """Are Conv2d weights Kaiming-normal fan_out and Linear weights fan_in (relu), nested ones too?"""
    # The model also holds a Conv2d and a Linear without bias, and a BatchNorm2d without
    # affine parameters: initialize_weights must skip what is None, not fail on it.
    params, before = _initialized_model(sub)
    for name, std in MODEL_WEIGHTS:
        got = params.get(name)
        what = f"model parameter {name} after initialize_weights(model)"
        got = assert_tensor(got, what, shape=before[name].shape, dtype=torch.float32)
        judge_normal(got, std, what)


def test_initialize_weights_norm_and_bias(sub):
    """Are all Linear/Conv2d biases 0 and BatchNorm1d/2d weights 1 and biases 0 afterwards?"""
    params, before = _initialized_model(sub)
    for names, value in ((MODEL_ZERO_BIASES, 0.0), (MODEL_UNIT_WEIGHTS, 1.0)):
        for name in names:
            what = f"model parameter {name} after initialize_weights(model)"
            got = assert_tensor(params.get(name), what, shape=before[name].shape, dtype=torch.float32)
            if not bool((got == value).all()):
                worst = (got - value).abs().max().item()
                raise CheckFailed(f"{what}: expected every value to be {value:g}, found one {worst:.4g} away")

"""Hidden checks for batch_norm: the whole contract of its statement."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, RequiresGrad, assert_close, assert_detached,
                                 assert_equal, assert_tensor, audited_call, buffers_of, expect_raises,
                                 gradcheck_remote, noncontig, parameters_of, randn, state_dict_of, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


# -- helpers ------------------------------------------------------------------------------
def _random_state(reference: nn.BatchNorm1d, batches_seen: int = 0) -> dict[str, torch.Tensor]:
    """Non-trivial float32 values for every entry of the reference's state_dict."""
    c = reference.num_features
    state: dict[str, torch.Tensor] = {}
    if reference.affine:
        state["weight"] = (1.0 + 0.5 * torch.randn(c)).float()
        state["bias"] = (0.5 * torch.randn(c)).float()
    if reference.track_running_stats:
        state["running_mean"] = torch.randn(c).float()
        state["running_var"] = (0.5 + torch.rand(c)).float()
        state["num_batches_tracked"] = torch.tensor(batches_seen, dtype=torch.long)
    return state


def _label(c: int, kwargs: dict[str, Any]) -> str:
    args = ", ".join([str(c)] + [f"{k}={v}" for k, v in kwargs.items()])
    return f"MyBatchNorm1d({args})"


def _pair(sub: Any, c: int, randomize: bool = True, batches_seen: int = 0,
          **kwargs: Any) -> tuple[Any, nn.BatchNorm1d, str]:
    """The student's layer and a float64 nn.BatchNorm1d holding the very same state."""
    layer = sub.MyBatchNorm1d(c, **kwargs)
    reference = nn.BatchNorm1d(c, **kwargs)
    label = _label(c, kwargs)
    if randomize:
        state = _random_state(reference, batches_seen)
        _load(layer, state, label)
        reference.load_state_dict(state)
    return layer, reference.double(), label


def _load(layer: Any, state: dict[str, torch.Tensor], label: str) -> None:
    got = sorted(state_dict_of(layer))
    if got != sorted(state):
        raise CheckFailed(f"state_dict keys of {label}: expected {sorted(state)} "
                          f"(those of nn.BatchNorm1d), got {got}")
    layer.load_state_dict({k: v.clone() for k, v in state.items()})


def _forward(reference: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """The reference output in float64 from a pristine copy, cast to the input's dtype."""
    with torch.no_grad():
        return reference(x.double()).to(x.dtype)


def _compare_buffers(layer: Any, reference: nn.BatchNorm1d, label: str, when: str,
                     dtype: torch.dtype = torch.float32) -> None:
    state = state_dict_of(layer)
    for name in BUFFERS:
        if name not in state:
            raise CheckFailed(f"{label}: no `{name}` in the state_dict {when}")
    assert_close(state["running_mean"], reference.running_mean.to(dtype), f"running_mean of {label} {when}")
    assert_close(state["running_var"], reference.running_var.to(dtype),
                 f"running_var of {label} {when} (unbiased batch variance)")
    count = assert_tensor(state["num_batches_tracked"], f"num_batches_tracked of {label}", shape=(),
                          dtype=torch.long)
    expected = int(reference.num_batches_tracked.item())
    if count.item() != expected:
        raise CheckFailed(f"num_batches_tracked of {label} {when}: expected {expected}, got {count.item()}")


def _batch(*shape: int, scale: float = 1.0, offset: float = 0.0) -> torch.Tensor:
    # Channels with different means and spreads, so a mix-up of dimensions shows.
    c = shape[1]
    spread = torch.linspace(0.5, 2.0, c).reshape((1, c) + (1,) * (len(shape) - 2))
    center = torch.linspace(-1.0, 1.0, c).reshape(spread.shape)
    return (randn(*shape, dtype=torch.float64) * spread * scale + center * scale + offset).float()


# -- checks -------------------------------------------------------------------------------
def test_parameters_and_buffers(sub):
    """Are weight/bias parameters and running_mean/running_var/num_batches_tracked buffers as in nn.BatchNorm1d?"""
    c = 5
    for affine in (True, False):
        for track in (True, False):
            kwargs = {"affine": affine, "track_running_stats": track}
            label = _label(c, kwargs)
            layer = sub.MyBatchNorm1d(c, **kwargs)
            reference = nn.BatchNorm1d(c, **kwargs)
            params, buffers = parameters_of(layer), buffers_of(layer)
            assert_equal(sorted(params), sorted(dict(reference.named_parameters())), f"parameter names of {label}")
            assert_equal(sorted(buffers), sorted(dict(reference.named_buffers())), f"buffer names of {label}")
            assert_equal(sorted(state_dict_of(layer)), sorted(reference.state_dict()),
                         f"state_dict keys of {label}")
            for name, expected in list(reference.named_parameters()) + list(reference.named_buffers()):
                got = params.get(name, buffers.get(name))
                assert_tensor(got, f"{name} of {label}", shape=tuple(expected.shape), dtype=expected.dtype)
                if not torch.equal(got, expected.detach()):
                    raise CheckFailed(f"initial {name} of {label}: expected {expected.detach().tolist()}, "
                                      f"got {got.tolist()}")
            if not affine:
                assert_equal(layer.weight, None, f"{label}.weight")
                assert_equal(layer.bias, None, f"{label}.bias")
            if not track:
                # A None buffer is in neither named_buffers() nor the state_dict: only its attribute shows it.
                for name in ("running_mean", "running_var", "num_batches_tracked"):
                    assert_equal(getattr(layer, name), None, f"{label}.{name}")


def test_train_forward(sub):
    """In training mode, does the output match for (N, C) and (N, C, L), odd sizes, eps and affine values?"""
    cases = [
        ("(N, C) batch", (7, 5), {}),
        ("(N, C, L) batch", (4, 3, 6), {}),
        ("two samples, one channel", (2, 1), {}),
        ("(N, C, L) with L = 1", (3, 7, 1), {}),
        ("eps = 0.1, small variance", (9, 4), {"eps": 0.1}),
        ("eps = 0.5, small variance, (N, C, L)", (3, 2, 5), {"eps": 0.5}),
        ("momentum = 0.7", (6, 3, 2), {"momentum": 0.7}),
    ]
    for family, shape, kwargs in cases:
        layer, reference, label = _pair(sub, shape[1], **kwargs)
        scale = 0.2 if "eps" in kwargs else 1.5
        x = _batch(*shape, scale=scale, offset=0.3)
        result = audited_call(layer, (x,), names=("x",))
        assert_close(result, _forward(reference, x), f"{label} forward in training mode", family=family)


def test_running_stats(sub):
    """Are the running statistics updated like nn.BatchNorm1d's over several batches and momenta, without autograd?"""
    cases = [("momentum 0.1", (8, 4), {}), ("momentum 0.3, (N, C, L)", (3, 4, 5), {"momentum": 0.3}),
             ("momentum 1.0", (5, 3), {"momentum": 1.0}),
             ("momentum 0.0 (statistics frozen)", (6, 2, 3), {"momentum": 0.0}),
             ("odd sizes", (2, 7, 3), {"momentum": 0.15})]
    for family, shape, kwargs in cases:
        layer, reference, label = _pair(sub, shape[1], batches_seen=4, **kwargs)
        for step in range(1, 4):
            x = _batch(*shape, scale=1.0 + step, offset=float(step))
            layer(x)
            _forward(reference.train(), x)
            _compare_buffers(layer, reference, label, f"after training batch {step} ({family})")
    # An input that requires grad: an update recorded by autograd leaves a grad_fn on the buffers.
    layer, reference, label = _pair(sub, 4, batches_seen=2)
    x = _batch(6, 4, scale=2.0, offset=0.5)
    layer(RequiresGrad(x))
    _forward(reference.train(), x)
    _compare_buffers(layer, reference, label, "after a batch that requires grad")
    buffers = buffers_of(layer)
    for name in ("running_mean", "running_var"):
        assert_detached(buffers.get(name), f"{label}.{name} after a training batch that requires grad "
                                           "(update it under torch.no_grad())")


def test_cumulative_average(sub):
    """With momentum=None, are the running statistics the cumulative average over all batches?"""
    for family, shape, batches_seen, fresh in [("from a fresh layer", (6, 3), 0, True),
                                               ("(N, C, L), resuming after 3 batches", (4, 2, 3), 3, False)]:
        layer, reference, label = _pair(sub, shape[1], randomize=not fresh, batches_seen=batches_seen,
                                        momentum=None)
        for step in range(1, 5):
            x = _batch(*shape, scale=float(step), offset=2.0 * step)
            layer(x)
            _forward(reference.train(), x)
            _compare_buffers(layer, reference, label, f"after training batch {step} ({family})")


def test_eval_mode(sub):
    """In eval mode, are the running statistics used (any batch size) and left unchanged?"""
    for family, shape in [("(N, C)", (6, 4)), ("(N, C, L)", (3, 4, 5)), ("a single sample", (1, 4)),
                          ("a single (1, C, 1) sample", (1, 4, 1))]:
        layer, reference, label = _pair(sub, 4, batches_seen=7)
        # A training batch first, so the running statistics are the layer's own.
        warm = _batch(5, 4, scale=2.0, offset=1.0)
        layer(warm)
        _forward(reference.train(), warm)
        layer.eval()
        reference.eval()
        x = _batch(*shape, scale=3.0, offset=-1.0)
        assert_close(layer(x), _forward(reference, x), f"{label} forward in eval mode", family=family)
        _compare_buffers(layer, reference, label, f"after an eval-mode forward ({family})")
    # Back to training: batch statistics and updates again.
    layer.train()
    reference.train()
    x = _batch(5, 4, scale=0.5, offset=2.0)
    assert_close(layer(x), _forward(reference, x), f"{label} forward after .train()",
                 family="back to training mode")
    _compare_buffers(layer, reference, label, "after .eval() then .train() and one more batch")


def test_without_affine_or_tracking(sub):
    """With affine=False or track_running_stats=False, do outputs match (batch statistics in eval too)?"""
    for kwargs in ({"affine": False}, {"track_running_stats": False},
                   {"affine": False, "track_running_stats": False}):
        for shape in [(7, 3), (4, 3, 5)]:
            layer, reference, label = _pair(sub, 3, **kwargs)
            x = _batch(*shape, scale=2.0, offset=1.0)
            assert_close(layer(x), _forward(reference.train(), x), f"{label} forward in training mode",
                         family=f"{len(shape)}-D batch")
            layer.eval()
            reference.eval()
            x = _batch(*shape, scale=0.5, offset=-2.0)
            family = "eval mode, batch statistics" if "track_running_stats" in kwargs else "eval mode"
            assert_close(layer(x), _forward(reference, x), f"{label} forward in eval mode", family=family)
            if "track_running_stats" in kwargs:
                assert_equal(sorted(buffers_of(layer)), [], f"buffers of {label} after a forward")


def test_gradients(sub):
    """Do gradients flow through the batch statistics (gradcheck) and match nn.BatchNorm1d's for weight and bias?"""
    # gradcheck on small inputs (each probe is a round trip to the worker); the vjp on larger ones.
    for family, small, shape in [("(N, C)", (4, 2), (7, 2)), ("(N, C, L)", (2, 2, 2), (3, 2, 4))]:
        layer, reference, label = _pair(sub, shape[1])
        layer = layer.double()
        x = _batch(*small, scale=1.5, offset=0.5).double()
        gradcheck_remote(layer, [x], f"{label} input gradient in training mode ({family})", module=layer)
        if len(shape) == 3:
            layer.eval()
            gradcheck_remote(layer, [x], f"{label} input gradient in eval mode ({family})",
                             module=layer)
            layer.train()
        x = _batch(*shape, scale=1.5, offset=0.5).double()
        grad_out = randn(*shape, dtype=torch.float64)
        _, grads, param_grads = vjp(layer, [x], [grad_out], module=layer)
        x_ref = x.clone().requires_grad_(True)
        reference.train()
        reference.zero_grad()
        reference(x_ref).backward(grad_out)
        if grads[0] is None:
            raise CheckFailed(f"{label}: no gradient reached the input ({family})")
        assert_close(grads[0], x_ref.grad, f"input gradient of {label} in training mode", family=family)
        for name in ("weight", "bias"):
            got = param_grads.get(name)
            if got is None:
                raise CheckFailed(f"{label}: no gradient reached `{name}` ({family}); is it an nn.Parameter "
                                  "used in forward?")
            assert_close(got, getattr(reference, name).grad, f"gradient of {name} of {label}", family=family)


def test_stability_and_dtypes(sub):
    """Is the output accurate for large offsets and magnitudes, non-contiguous inputs and a float64 layer?"""
    # A common offset of 1000 over a spread of 1: E[x^2] - E[x]^2 loses every digit in float32.
    # The float32 rounding of the mean alone is ~1e-4 here, so the tolerance is 1e-2.
    layer, reference, label = _pair(sub, 4, randomize=False)
    for family, shape in [("(N, C) around 1000", (64, 4)), ("(N, C, L) around 1000", (8, 4, 16))]:
        x = (randn(*shape, dtype=torch.float64) + 1000.0).float()
        assert_close(layer(x), _forward(reference.train(), x), f"{label} forward", family=family, atol=1e-2)
    layer, reference, label = _pair(sub, 5)
    x = _batch(9, 5, scale=1e4)
    assert_close(layer(x), _forward(reference.train(), x), f"{label} forward", family="magnitudes up to 1e4")
    for shape in [(6, 5), (3, 5, 4)]:
        x = _batch(*shape, scale=2.0)
        assert_close(layer(noncontig(x)), _forward(reference, x), f"{label} forward",
                     family=f"non-contiguous {len(shape)}-D input")
    layer, reference, label = _pair(sub, 3, momentum=0.2)
    layer = layer.double()
    x = _batch(7, 3, scale=2.0).double()
    assert_close(layer(x), _forward(reference.train(), x), f"{label}.double() forward", family="float64")
    _compare_buffers(layer, reference, f"{label}.double()", "after a float64 batch", dtype=torch.float64)


def test_invalid_inputs(sub):
    """Does it raise ValueError, as nn.BatchNorm1d does, for 1-D or 4-D inputs and one value per channel in training?"""
    # The nearest valid inputs first: a rule that raises too widely (every batch of one
    # sample, every L of 1) fails here, and a layer that always raises earns nothing.
    for family, shape in (("one sample, two values per channel", (1, 3, 2)), ("two samples", (2, 3)),
                          ("two samples of length 1", (2, 3, 1))):
        layer, reference, label = _pair(sub, 3)
        x = _batch(*shape)
        assert_close(layer(x), _forward(reference.train(), x),
                     f"{label} in training mode on a {shape} batch", family=family)
    layer = sub.MyBatchNorm1d(3)
    with expect_raises(ValueError, "MyBatchNorm1d(3) on a 1-D (3,) input"):
        layer(randn(3))
    with expect_raises(ValueError, "MyBatchNorm1d(3) on a 4-D (2, 3, 4, 5) input"):
        layer(randn(2, 3, 4, 5))
    with expect_raises(ValueError, "MyBatchNorm1d(3) in training mode on a (1, 3) batch (one value per channel)"):
        layer(randn(1, 3))
    with expect_raises(ValueError, "MyBatchNorm1d(3) in training mode on a (1, 3, 1) batch (one value per channel)"):
        layer(randn(1, 3, 1))

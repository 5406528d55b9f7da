"""Hidden checks for mlp: the whole contract of its statement.

References are built in the grader from the contract (`_Reference`), given the same
state_dict as the student's model, and run in float64 in eval mode so dropout does not
interfere.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_equal, assert_tensor,
                                 evaluate, noncontig, parameters_of, randn, state_dict_of, vjp)

# Evaluated in the worker on the student's self.network (bound as `net`): plain facts about
# each layer.
LAYOUT_EXPRESSION = (
    "(isinstance(net, nn.Sequential), "
    "[(type(m).__name__, isinstance(m, nn.Linear), isinstance(m, nn.ReLU), isinstance(m, nn.Dropout), "
    "int(m.in_features) if isinstance(m, nn.Linear) else None, "
    "int(m.out_features) if isinstance(m, nn.Linear) else None, "
    "isinstance(m, nn.Linear) and m.bias is not None, "
    "float(m.p) if isinstance(m, nn.Dropout) else None) "
    "for m in (list(net) if isinstance(net, nn.Sequential) else [])])"
)


class _Reference(nn.Module):
    """The contract, written in the grader."""

    def __init__(self, input_dim: int, hidden_dims: list[int], output_dim: int = 1,
                 dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = input_dim
        for i, hidden in enumerate(hidden_dims):
            layers += [nn.Linear(previous, hidden), nn.ReLU()]
            if i < len(hidden_dims) - 1:
                layers.append(nn.Dropout(dropout))
            previous = hidden
        layers.append(nn.Linear(previous, output_dim))
        self.network = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.network(x.flatten(1) if x.dim() > 2 else x)


def _label(args: tuple, kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"DynamicMLP({', '.join(parts)})"


def _describe(facts: Any) -> str:
    name, is_linear, is_relu, is_dropout, n_in, n_out, has_bias, p = facts
    if is_linear:
        return f"Linear({n_in}, {n_out})" + ("" if has_bias else " without bias")
    if is_relu:
        return "ReLU"
    if is_dropout:
        return f"Dropout(p={p:g})"
    return str(name)


def _layout(model: Any, label: str) -> list[str]:
    network = model.network
    if not isinstance(network, Remote):  # e.g. a plain list of layers comes back as a list
        raise CheckFailed(f"{label}.network: expected an nn.Sequential, got a {type(network).__name__}")
    reply = evaluate(model, LAYOUT_EXPRESSION, label=f"the layers of {label}.network",
                     net=network)
    if not (isinstance(reply, (tuple, list)) and len(reply) == 2 and isinstance(reply[1], list)):
        raise CheckFailed(f"{label}.network: its layers could not be read")
    if not reply[0]:
        raise CheckFailed(f"{label}.network: expected an nn.Sequential")
    return [_describe(tuple(f)) for f in reply[1]]


def _reference_layout(reference: _Reference) -> list[str]:
    facts = eval(LAYOUT_EXPRESSION, {"nn": nn, "net": reference.network})  # our own code
    return [_describe(f) for f in facts[1]]


def _pair(sub: Any, *args: Any, **kwargs: Any) -> tuple[Any, _Reference, str]:
    """The student's model with the reference's exact parameters, and the float64 reference, both in eval mode."""
    label = _label(args, kwargs)
    model = sub.DynamicMLP(*args, **kwargs)
    reference = _Reference(*args, **kwargs)
    _check_keys(model, reference, label)
    model.load_state_dict({k: v.detach().clone() for k, v in reference.state_dict().items()})
    model.eval()
    return model, reference.double().eval(), label


def _check_keys(model: Any, reference: _Reference, label: str) -> None:
    got, expected = sorted(state_dict_of(model)), sorted(reference.state_dict())
    if got != expected:
        raise CheckFailed(f"state_dict keys of {label}: expected {expected}, got {got}")


def _expected(reference: _Reference, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return reference(x.double()).to(x.dtype)


def _atol(width: int) -> float:
    # float32 rounding grows with the number of terms summed.
    return 1e-5 * max(1.0, math.sqrt(width))


CONFIGS = [
    ((6, [5]), {"output_dim": 3, "dropout": 0.35}),
    ((7, [9, 3, 4]), {"output_dim": 2, "dropout": 0.1}),
    ((5, [4, 4, 4, 4]), {}),
    ((12, [8, 6]), {}),
    ((3, [11, 2]), {"output_dim": 7}),
]


def test_layer_layout(sub):
    """Is self.network an nn.Sequential of exactly Linear, ReLU, Dropout(p) ... Linear for several configurations?"""
    for args, kwargs in CONFIGS:
        label = _label(args, kwargs)
        expected = _reference_layout(_Reference(*args, **kwargs))
        got = _layout(sub.DynamicMLP(*args, **kwargs), label)
        if got != expected:
            raise CheckFailed(f"{label}.network: expected the layers {', '.join(expected)}; "
                              f"got {', '.join(got) or 'no layers'}")


def test_no_hidden_layers(sub):
    """With hidden_dims=[], is the network one Linear(input_dim, output_dim), computing the right output?"""
    model, reference, label = _pair(sub, 5, [], output_dim=2)
    got = _layout(model, label)
    if got != ["Linear(5, 2)"]:
        raise CheckFailed(f"{label}.network: expected the single layer Linear(5, 2); got {', '.join(got) or 'no layers'}")
    x = randn(4, 5)
    assert_close(model(x), _expected(reference, x), f"{label} forward", family="no hidden layers")


def test_parameter_count(sub):
    """Does the parameter count (and every parameter's shape) equal the reference's, e.g. 235,146 for (784, [256, 128], 10)?"""
    for args, kwargs in CONFIGS + [((784, [256, 128]), {"output_dim": 10})]:
        label = _label(args, kwargs)
        params = parameters_of(sub.DynamicMLP(*args, **kwargs))
        reference = _Reference(*args, **kwargs)
        expected_count = sum(p.numel() for p in reference.parameters())
        count = sum(t.numel() for t in params.values() if type(t) is torch.Tensor)
        assert_equal(count, expected_count, f"number of parameters of {label}")
        shapes = {name: tuple(t.shape) for name, t in params.items() if type(t) is torch.Tensor}
        expected_shapes = {name: tuple(p.shape) for name, p in reference.named_parameters()}
        assert_equal(shapes, expected_shapes, f"parameter names and shapes of {label}")


def test_state_dict_keys(sub):
    """Are the state_dict keys those of the layout (network.0.weight, network.0.bias, network.3.weight, ...)?"""
    for args, kwargs in CONFIGS:
        _check_keys(sub.DynamicMLP(*args, **kwargs), _Reference(*args, **kwargs), _label(args, kwargs))


def test_forward_parity(sub):
    """In eval mode, does the output equal the reference's with the same state_dict (odd sizes, batch of 1, non-contiguous)?"""
    for args, kwargs in CONFIGS + [((784, [256, 128]), {"output_dim": 10})]:
        model, reference, label = _pair(sub, *args, **kwargs)
        widest = max([args[0], *args[1]])
        for family, x in [("batch of 9", randn(9, args[0])), ("batch of 1", randn(1, args[0])),
                          ("large inputs", randn(5, args[0], scale=100.0))]:
            scale = 100.0 if family == "large inputs" else 1.0
            assert_close(model(x), _expected(reference, x), f"{label} forward in eval mode", family=family,
                         atol=_atol(widest) * scale)
        x = randn(6, args[0])
        assert_close(model(noncontig(x)), _expected(reference, x), f"{label} forward in eval mode",
                     family="non-contiguous input", atol=_atol(widest))


def test_flatten_inputs(sub):
    """Are inputs with more than two dimensions flattened from dim 1, an empty batch too?"""
    for input_dim, shape in [(12, (5, 2, 3, 2)), (16, (3, 1, 4, 4)), (15, (4, 3, 5)), (8, (2, 8, 1))]:
        model, reference, label = _pair(sub, input_dim, [6, 5], output_dim=3)
        x = randn(*shape)
        assert_close(model(x), _expected(reference, x), f"{label} forward on a {shape} input",
                     family="flattened from dim 1")
    model, reference, label = _pair(sub, 784, [32], output_dim=10)
    x = randn(4, 1, 28, 28)
    assert_close(model(x), _expected(reference, x), f"{label} forward on a (4, 1, 28, 28) input",
                 family="image batch", atol=_atol(784))
    # An empty batch: reshape(x.size(0), -1) cannot infer the -1 there, flatten(1) can.
    model, reference, label = _pair(sub, 12, [6], output_dim=3)
    x = randn(0, 3, 4)
    assert_close(model(x), _expected(reference, x), f"{label} forward on a (0, 3, 4) input",
                 family="an empty batch")


def test_flatten_noncontiguous(sub):
    """Are non-contiguous inputs with more than two dimensions (strided, transposed) flattened too?"""
    for input_dim, shape in [(12, (5, 2, 3, 2)), (15, (4, 3, 5))]:
        model, reference, label = _pair(sub, input_dim, [6, 5], output_dim=3)
        x = randn(*shape)
        assert_close(model(noncontig(x)), _expected(reference, x), f"{label} forward on a strided {shape} input",
                     family="non-contiguous, flattened from dim 1")
        # A transposed view exists only in the worker (the wire sends contiguous or strided
        # tensors), so the model is called there on x.transpose(1, 2); its output is judged here.
        transposed = tuple(shape[:1]) + (shape[2], shape[1]) + tuple(shape[3:])
        got = evaluate(model, "model(x.transpose(1, 2))", label=f"{label} on a transposed input",
                       model=model, x=x)
        assert_close(got, _expected(reference, x.transpose(1, 2)),
                     f"{label} forward on a transposed {transposed} input",
                     family="transposed (non-contiguous) batch, flattened from dim 1")


def test_gradients(sub):
    """In eval mode, do the gradients of every parameter and of the input match the reference's?"""
    for args, kwargs in [((7, [9, 3, 4]), {"output_dim": 2, "dropout": 0.1}), ((12, [8, 6]), {})]:
        model, reference, label = _pair(sub, *args, **kwargs)
        model = model.double()
        x = randn(6, args[0], dtype=torch.float64)
        grad_out = randn(6, kwargs.get("output_dim", 1), dtype=torch.float64)
        _, grads, param_grads = vjp(model, [x], [grad_out], module=model)
        x_ref = x.clone().requires_grad_(True)
        reference.zero_grad()
        reference(x_ref).backward(grad_out)
        if grads[0] is None:
            raise CheckFailed(f"{label}: no gradient reached the input")
        assert_close(grads[0], x_ref.grad, f"input gradient of {label}", family="eval mode, float64")
        for name, param in reference.named_parameters():
            got = param_grads.get(name)
            if got is None:
                raise CheckFailed(f"{label}: no gradient reached `{name}`")
            assert_close(got, param.grad, f"gradient of {name} of {label}", family="eval mode, float64")


def test_training_mode_dropout(sub):
    """In training mode, is dropout active (two calls differ), and with dropout=0.0 is the output the reference's?"""
    model = sub.DynamicMLP(20, [48, 48], output_dim=4, dropout=0.5)
    x = randn(16, 20)
    first = assert_tensor(model(x), "DynamicMLP(20, [48, 48], output_dim=4, dropout=0.5) in training mode",
                          shape=(16, 4))
    second = assert_tensor(model(x), "DynamicMLP(20, [48, 48], output_dim=4, dropout=0.5) in training mode",
                           shape=(16, 4))
    if torch.equal(first, second):
        raise CheckFailed("DynamicMLP(20, [48, 48], output_dim=4, dropout=0.5): two calls in training mode gave "
                          "exactly the same output; expected dropout to be active in training mode")
    reference = _Reference(10, [7, 5], output_dim=2, dropout=0.0)
    model = sub.DynamicMLP(10, [7, 5], output_dim=2, dropout=0.0)
    _check_keys(model, reference, "DynamicMLP(10, [7, 5], output_dim=2, dropout=0.0)")
    model.load_state_dict({k: v.detach().clone() for k, v in reference.state_dict().items()})
    x = randn(8, 10)
    assert_close(model(x), _expected(reference.double(), x), "DynamicMLP(10, [7, 5], output_dim=2, dropout=0.0) "
                 "forward in training mode", family="dropout 0: deterministic")

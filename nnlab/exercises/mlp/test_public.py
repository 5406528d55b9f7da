"""Public checks for mlp: quick feedback on the common mistakes."""
from __future__ import annotations

import torch

from nnlab.grader.checks import CheckFailed, Remote, assert_tensor, evaluate, randn

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


def describe(facts: tuple) -> str:
    name, is_linear, is_relu, is_dropout, n_in, n_out, has_bias, p = facts
    if is_linear:
        return f"Linear({n_in}, {n_out})" + ("" if has_bias else " without bias")
    if is_relu:
        return "ReLU"
    if is_dropout:
        return f"Dropout(p={p:g})"
    return str(name)


def expected_layout(input_dim: int, hidden_dims: list[int], output_dim: int, dropout: float) -> list[str]:
    layout, previous = [], input_dim
    for i, hidden in enumerate(hidden_dims):
        layout += [f"Linear({previous}, {hidden})", "ReLU"]
        if i < len(hidden_dims) - 1:
            layout.append(f"Dropout(p={dropout:g})")
        previous = hidden
    return layout + [f"Linear({previous}, {output_dim})"]


def test_output_shape(sub):
    """Does DynamicMLP(10, [16, 8]) map a (4, 10) batch to (4, 1)?"""
    model = sub.DynamicMLP(10, [16, 8])
    model.eval()
    assert_tensor(model(randn(4, 10)), "DynamicMLP(10, [16, 8]) on a (4, 10) input", shape=(4, 1),
                  dtype=torch.float32)


def test_layout_small(sub):
    """Is self.network of DynamicMLP(10, [16, 8]) Linear, ReLU, Dropout(0.2), Linear, ReLU, Linear?"""
    model = sub.DynamicMLP(10, [16, 8])
    network = model.network
    if not isinstance(network, Remote):  # e.g. a plain list of layers comes back as a list
        raise CheckFailed(f"DynamicMLP(10, [16, 8]).network: expected an nn.Sequential, got a "
                          f"{type(network).__name__}")
    is_sequential, layers = evaluate(model, LAYOUT_EXPRESSION, label="the layers of self.network",
                                     net=network)
    if not is_sequential:
        raise CheckFailed("DynamicMLP(10, [16, 8]).network: expected an nn.Sequential")
    got = [describe(tuple(f)) for f in layers]
    expected = expected_layout(10, [16, 8], 1, 0.2)
    if got != expected:
        raise CheckFailed(f"DynamicMLP(10, [16, 8]).network: expected the layers {', '.join(expected)}; "
                          f"got {', '.join(got) or 'no layers'}")

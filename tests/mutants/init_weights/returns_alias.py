"""Fills the tensor in place, but returns an alias of it (detach(), view()) instead of the tensor itself."""
# nnlab-expect: test_in_place_and_no_grad
from __future__ import annotations

import math

import torch
from torch import nn

_LINEAR_FNS = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid"}


def _fans(tensor: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out): input/output feature maps times the receptive field (dims 2 on)."""
    if tensor.dim() < 2:
        raise ValueError("fan in and fan out need a tensor with at least 2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.size(1) * receptive_field, tensor.size(0) * receptive_field


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch.nn.init.calculate_gain recommends for a nonlinearity."""
    if nonlinearity in _LINEAR_FNS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity}")


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """Fills `tensor` in place from N(0, std^2), std = gain / sqrt(fan)."""
    if 0 in tensor.shape:  # as torch: nothing to fill, and no fan to divide by
        return tensor
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode} not supported, use 'fan_in' or 'fan_out'")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    # no_grad: the fill is not an operation to differentiate, and a leaf parameter that
    # requires grad refuses in-place changes otherwise.
    with torch.no_grad():
        tensor.normal_(0.0, std)
    return tensor.detach()


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fills `tensor` in place from U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    with torch.no_grad():
        tensor.uniform_(-bound, bound)
    return tensor.view(tensor.shape)


def initialize_weights(model: nn.Module) -> None:
    """Kaiming-normal Linear (fan_in) and Conv2d (fan_out) weights for ReLU, zero biases;
    BatchNorm weights 1 and biases 0. Every submodule, nested ones included."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(module, nn.Conv2d):
            kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            if module.weight is not None:
                with torch.no_grad():
                    module.weight.fill_(1.0)
        else:
            continue
        if module.bias is not None:
            with torch.no_grad():
                module.bias.zero_()

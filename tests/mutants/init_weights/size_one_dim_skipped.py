"""Returns the tensor unfilled when any dimension is 1 (the empty-tensor early return, with 1 for 0)."""
# nnlab-expect: test_kaiming_fan_modes
from __future__ import annotations

import math

import torch
from torch import nn

_LINEAR_FNS = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid"}


def _fans(tensor):
    if tensor.dim() < 2:
        raise ValueError("fan in and fan out need a tensor with at least 2 dimensions")
    receptive_field = math.prod(tensor.shape[2:])
    return tensor.size(1) * receptive_field, tensor.size(0) * receptive_field


def _gain(nonlinearity, a):
    if nonlinearity in _LINEAR_FNS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity}")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    if 1 in tensor.shape:  # the bug: meant "nothing to fill", which is a size-0 dimension
        return tensor
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode} not supported")
    fan_in, fan_out = _fans(tensor)
    std = _gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    with torch.no_grad():
        return tensor.normal_(0.0, std)


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / float(fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


def initialize_weights(model):
    for module in model.modules():
        if isinstance(module, nn.Linear):
            kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(module, nn.Conv2d):
            kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if module.weight is not None:
                with torch.no_grad():
                    module.weight.fill_(1.0)
        else:
            continue
        if module.bias is not None:
            with torch.no_grad():
                module.bias.zero_()

"""A correct version: fills .data (no no_grad block), module.apply, the leaky gain kept general."""
# nnlab-expect: full
import math

import torch
import torch.nn as nn


def _fan(tensor, mode):
    dims = tensor.dim()
    if dims < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    field = 1
    for size in tensor.shape[2:]:
        field *= size
    if mode == "fan_in":
        return tensor.size(1) * field
    if mode == "fan_out":
        return tensor.size(0) * field
    raise ValueError(f"Mode {mode} not supported")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fan(tensor, mode)
    if nonlinearity in ("linear", "sigmoid") or nonlinearity.startswith("conv"):
        gain = 1.0
    elif nonlinearity == "tanh":
        gain = 5.0 / 3
    elif nonlinearity == "relu":
        gain = 2.0 ** 0.5
    elif nonlinearity == "leaky_relu":
        gain = (2.0 / (1 + a ** 2)) ** 0.5
    elif nonlinearity == "selu":
        gain = 3.0 / 4
    else:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    tensor.data.normal_(0, gain / fan ** 0.5)
    return tensor


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fan(tensor, "fan_in"), _fan(tensor, "fan_out")
    a = gain * (6.0 / (fan_in + fan_out)) ** 0.5
    tensor.data.uniform_(-a, a)
    return tensor


def _init(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        mode = "fan_out" if isinstance(module, nn.Conv2d) else "fan_in"
        kaiming_normal_(module.weight, mode=mode, nonlinearity="relu")
        if module.bias is not None:
            module.bias.data.zero_()
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        if module.weight is not None:
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()


def initialize_weights(model):
    model.apply(_init)

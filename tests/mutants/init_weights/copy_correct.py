"""A correct version written differently: randn/rand then copy_, fans from a slice, _BatchNorm."""
# nnlab-expect: full
import math

import torch
from torch import nn

GAINS = {"linear": 1.0, "sigmoid": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0,
         "conv_transpose1d": 1.0, "conv_transpose2d": 1.0, "conv_transpose3d": 1.0,
         "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}


def _fans(t):
    if t.ndim < 2:
        raise ValueError("need at least 2 dimensions")
    receptive = t[0][0].numel()
    return t.shape[1] * receptive, t.shape[0] * receptive


def _gain(nonlinearity, a):
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity not in GAINS:
        raise ValueError(f"unsupported nonlinearity {nonlinearity}")
    return GAINS[nonlinearity]


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    fans = dict(zip(("fan_in", "fan_out"), _fans(tensor)))
    if mode not in fans:
        raise ValueError(f"bad mode {mode}")
    std = _gain(nonlinearity, a) / math.sqrt(fans[mode])
    with torch.no_grad():
        tensor.copy_(torch.randn(tensor.shape, dtype=tensor.dtype) * std)
    return tensor


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(3.0) * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor.copy_((torch.rand(tensor.shape, dtype=tensor.dtype) * 2 - 1) * bound)
    return tensor


def initialize_weights(model):
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.Parameter.zero_(m.bias.data)
        elif isinstance(m, nn.Linear):
            kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                m.bias.data.zero_()
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            m.weight.data.fill_(1)
            m.bias.data.fill_(0)

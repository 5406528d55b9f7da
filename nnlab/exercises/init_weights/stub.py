"""Exercise init_weights: Kaiming and Xavier initialization from scratch (see init_weights.md)."""
from __future__ import annotations

import math

import torch
from torch import nn


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """Fills `tensor` in place with N(0, std^2), std = gain / sqrt(fan), and returns it.

    fan_in = tensor.size(1) * receptive_field, fan_out = tensor.size(0) * receptive_field,
    receptive_field = product of tensor.shape[2:] (1 for a 2-D tensor); mode picks the fan.
    gain as torch.nn.init.calculate_gain(nonlinearity, a): linear/conv*/sigmoid 1, tanh 5/3,
    relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)), selu 3/4.
    Works under torch.no_grad() (on parameters that require grad).

    Raises:
        ValueError: tensor with fewer than 2 dimensions, unknown mode or nonlinearity.
    """
    raise NotImplementedError


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fills `tensor` in place with U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)); returns it.

    Raises:
        ValueError: tensor with fewer than 2 dimensions.
    """
    raise NotImplementedError


def initialize_weights(model: nn.Module) -> None:
    """Initializes every submodule of `model` (nested ones included):

    - nn.Linear: weight Kaiming-normal (mode='fan_in', nonlinearity='relu'), bias 0;
    - nn.Conv2d: weight Kaiming-normal (mode='fan_out', nonlinearity='relu'), bias 0;
    - BatchNorm (1d, 2d): weight 1, bias 0.
    Biases or affine parameters that are None are skipped.
    """
    raise NotImplementedError

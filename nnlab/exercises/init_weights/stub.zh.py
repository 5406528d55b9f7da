"""练习 init_weights：从零实现 Kaiming 与 Xavier 初始化（题目见 init_weights.md）。"""
from __future__ import annotations

import math

import torch
from torch import nn


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> torch.Tensor:
    """原地用 N(0, std^2) 填充 `tensor`，std = gain / sqrt(fan)，并返回它。

    fan_in = tensor.size(1) * receptive_field，fan_out = tensor.size(0) * receptive_field，
    receptive_field = tensor.shape[2:] 各维的乘积（二维张量为 1）；mode 决定用哪一个 fan。
    gain 与 torch.nn.init.calculate_gain(nonlinearity, a) 相同：linear/conv*/sigmoid 为 1，
    tanh 为 5/3，relu 为 sqrt(2)，leaky_relu 为 sqrt(2 / (1 + a^2))，selu 为 3/4。
    在 torch.no_grad() 下填充（以便作用于需要梯度的参数）。

    异常：
        ValueError: 张量维数少于 2，或 mode、nonlinearity 取值未知。
    """
    raise NotImplementedError


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """原地用 U(-b, b) 填充 `tensor`，b = gain * sqrt(6 / (fan_in + fan_out))；返回它。

    异常：
        ValueError: 张量维数少于 2。
    """
    raise NotImplementedError


def initialize_weights(model: nn.Module) -> None:
    """初始化 `model` 的每一个子模块（包括嵌套的子模块）：

    - nn.Linear：权重用 Kaiming 正态初始化（mode='fan_in'，nonlinearity='relu'），偏置为 0；
    - nn.Conv2d：权重用 Kaiming 正态初始化（mode='fan_out'，nonlinearity='relu'），偏置为 0；
    - 批归一化层（1d、2d）：权重为 1，偏置为 0。
    为 None 的偏置或仿射参数直接跳过。
    """
    raise NotImplementedError

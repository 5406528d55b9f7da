"""练习 activations：从零实现七个激活函数（题目见 activations.md）。"""
from __future__ import annotations

import torch

# 允许使用：逐元素的 torch 运算，如 torch.exp、torch.expm1、torch.log、torch.log1p、
# torch.where、torch.clamp、torch.abs，以及 amax / max / sum 等归约运算。
# 禁止使用：torch.sigmoid、torch.tanh、torch.relu、torch.softmax、torch.log_softmax、
# torch.logsumexp、torch.special 中的任何函数，以及它们的 F. / nn. / 张量方法版本。


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """sigma(x) = 1 / (1 + exp(-x))，逐元素计算，支持任意形状和浮点 dtype。

    |x| 最大到 1e4 时不能上溢：函数值和梯度都不能是 NaN 或 inf。
    """
    raise NotImplementedError


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))，逐元素计算；|x| 最大到 1e4 时仍数值稳定。"""
    raise NotImplementedError


def relu(x: torch.Tensor) -> torch.Tensor:
    """relu(x) = max(x, 0)，逐元素计算。"""
    raise NotImplementedError


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """x > 0 处取 x，其余位置取 negative_slope * x。"""
    raise NotImplementedError


def silu(x: torch.Tensor) -> torch.Tensor:
    """silu(x) = x * sigma(x)（也叫 swish）；|x| 最大到 1e4 时仍数值稳定。"""
    raise NotImplementedError


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j)，沿 `dim` 求和（dim 也可以是负数）。

    元素的绝对值最大到 1e4 时仍须数值稳定：exp(1e4) 会上溢，所以要先做平移。
    """
    raise NotImplementedError


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log_softmax(x)_i = x_i - log(sum_j exp(x_j))，沿 `dim` 计算；元素绝对值最大到 1e4 时结果仍有限。"""
    raise NotImplementedError

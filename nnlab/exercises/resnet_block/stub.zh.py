"""练习 resnet_block：BasicBlock 与 ResNet-18（题目见 resnet_block.md）。"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))。

    参数：
        in_channels: 输入的通道数。
        out_channels: 输出的通道数。
        stride: conv1（以及投影快捷连接）的步长。

    属性：
        conv1: Conv2d(in, out, 3, stride=stride, padding=1)；bn1: BatchNorm2d(out)。
        conv2: Conv2d(out, out, 3, stride=1, padding=1)；bn2: BatchNorm2d(out)。
        shortcut: stride == 1 且 in == out 时为空的 nn.Sequential()，否则为
            nn.Sequential(Conv2d(in, out, 1, stride=stride), BatchNorm2d(out))。
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x：(N, in_channels, H, W) -> (N, out_channels, ceil(H/stride), ceil(W/stride))。"""
        raise NotImplementedError


class ResNet(nn.Module):
    """conv1 7x7/2 - bn1 - relu - maxpool 3/2/1 - layer1..layer4（64/128/256/512）- avgpool - fc。

    参数：
        block: 残差块的类，以 block(in_channels, out_channels, stride) 的方式调用。
        layers: 四个阶段各自的残差块个数，例如 [2, 2, 2, 2]。
        num_classes: `fc` 的输出个数。
    """

    def __init__(self, block: type[nn.Module], layers: Sequence[int], num_classes: int = 10) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x：(N, 3, H, W) -> logits，形状 (N, num_classes)。"""
        raise NotImplementedError


def resnet18(num_classes: int = 10) -> ResNet:
    """ResNet(BasicBlock, [2, 2, 2, 2], num_classes)：10 个类别时共 11,186,442 个参数。"""
    raise NotImplementedError

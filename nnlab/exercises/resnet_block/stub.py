"""Exercise resnet_block: BasicBlock and ResNet-18 (see resnet_block.md)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output.
        stride: stride of conv1 (and of the projection shortcut).

    Attributes:
        conv1: Conv2d(in, out, 3, stride=stride, padding=1); bn1: BatchNorm2d(out).
        conv2: Conv2d(out, out, 3, stride=1, padding=1); bn2: BatchNorm2d(out).
        shortcut: nn.Sequential() (empty) when stride == 1 and in == out, else
            nn.Sequential(Conv2d(in, out, 1, stride=stride), BatchNorm2d(out)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, H, W) -> (N, out_channels, ceil(H/stride), ceil(W/stride))."""
        raise NotImplementedError


class ResNet(nn.Module):
    """conv1 7x7/2 - bn1 - relu - maxpool 3/2/1 - layer1..layer4 (64/128/256/512) - avgpool - fc.

    Args:
        block: the block class, called as block(in_channels, out_channels, stride).
        layers: the number of blocks in each of the four stages, e.g. [2, 2, 2, 2].
        num_classes: outputs of `fc`.
    """

    def __init__(self, block: type[nn.Module], layers: Sequence[int], num_classes: int = 10) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 3, H, W) -> logits (N, num_classes)."""
        raise NotImplementedError


def resnet18(num_classes: int = 10) -> ResNet:
    """ResNet(BasicBlock, [2, 2, 2, 2], num_classes): 11,186,442 parameters for 10 classes."""
    raise NotImplementedError

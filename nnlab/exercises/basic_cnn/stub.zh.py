"""练习 basic_cnn：一个小型卷积分类网络（题目见 basic_cnn.md）。"""
from __future__ import annotations

import torch
from torch import nn


class BasicCNN(nn.Module):
    """features -> flatten(1) -> classifier，输入为 (N, in_channels, 32, 32) 的图像。

    参数：
        in_channels: 输入图像的通道数。
        num_classes: 最后一个 Linear 层的输出个数。

    属性：
        features: nn.Sequential，由三段 Conv2d(3x3, padding=1)-BatchNorm2d-ReLU 组成，
            通道数依次为 32、64、128，前两段之后各接一个 nn.MaxPool2d(2)
            （序号 0..10；32x32 -> 8x8）。
        classifier: nn.Sequential(Linear(128*8*8, 256), ReLU(), Dropout(0.5),
            Linear(256, num_classes))。
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, 32, 32) -> logits (N, num_classes)。"""
        raise NotImplementedError

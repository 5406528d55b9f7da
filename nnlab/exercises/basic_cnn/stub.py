"""Exercise basic_cnn: a small convolutional classifier (see basic_cnn.md)."""
from __future__ import annotations

import torch
from torch import nn


class BasicCNN(nn.Module):
    """features -> flatten(1) -> classifier, for (N, in_channels, 32, 32) images.

    Args:
        in_channels: channels of the input images.
        num_classes: outputs of the last Linear layer.

    Attributes:
        features: nn.Sequential of three Conv2d(3x3, padding=1)-BatchNorm2d-ReLU stages with
            32, 64 and 128 channels, and nn.MaxPool2d(2) after the first two stages
            (indices 0..10; 32x32 -> 8x8).
        classifier: nn.Sequential(Linear(128*8*8, 256), ReLU(), Dropout(0.5),
            Linear(256, num_classes)).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, in_channels, 32, 32) -> logits (N, num_classes)."""
        raise NotImplementedError

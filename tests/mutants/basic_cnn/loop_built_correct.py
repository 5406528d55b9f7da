"""A correct variant: stages built in a loop, in-place ReLUs, torch.flatten."""
# nnlab-expect: full
from __future__ import annotations

import torch
from torch import nn


class BasicCNN(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i, width in enumerate((32, 64, 128)):
            layers += [nn.Conv2d(channels, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if i < 2:
                layers.append(nn.MaxPool2d(kernel_size=2))
            channels = width
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Linear(8192, 256), nn.ReLU(inplace=True), nn.Dropout(p=0.5),
                                        nn.Linear(256, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), start_dim=1))

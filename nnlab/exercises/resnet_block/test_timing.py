"""Timing check for resnet_block: BasicBlock forward and backward against the reference block."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.grader.checks import load_reference_state, timing
from nnlab.grader.timing import Timed, assert_fast, normal

# (input, channels): on the CPU few channels and many pixels, so the convolutions stay
# cheap and a Python loop over pixels shows; on a GPU a ResNet-18 first-stage block.
SIZES = {"cpu": ((4, 8, 40, 40), 8), "cuda": ((32, 64, 56, 56), 64)}


class _Block(nn.Module):
    """The grader's BasicBlock (stride 1, identity shortcut), written with torch.nn."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


def _case(device: str) -> Timed:
    shape, channels = SIZES[device]
    reference = _Block(channels)  # training mode: batch statistics, running stats updated

    def build(root):
        block = root.BasicBlock(channels, channels, 1)
        load_reference_state(block, reference)
        return block.to(device)

    return Timed(build, reference, [normal(*shape, requires_grad=True)])


@timing
def test_speed(sub, grading, request):
    """Are BasicBlock's forward and backward (training mode) about as fast as the reference block's?"""
    assert_fast(grading, request, sub, _case, "BasicBlock forward and backward",
                "the torch.nn reference block", backward=True,
                gate=["test_block_shapes", "test_block_forward_small", "test_block_structure",
                      "test_block_eval_parity", "test_block_train_parity", "test_block_gradients"],
                atol=1e-4)

"""Public checks for resnet_block: quick feedback on the common mistakes."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.grader.checks import assert_close, assert_tensor, load_reference_state, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


class Block(nn.Module):
    """The grader's BasicBlock, written with torch.nn (also the reference of test_hidden.py
    and test_timing.py)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


def test_block_shapes(sub):
    """Does BasicBlock keep (N, C, H, W) with stride 1, and halve H and W with stride 2?"""
    block = sub.BasicBlock(4, 4).eval()
    assert_tensor(block(randn(2, 4, 8, 8)), "BasicBlock(4, 4) on a (2, 4, 8, 8) input",
                  shape=(2, 4, 8, 8))
    block = sub.BasicBlock(4, 8, stride=2).eval()
    assert_tensor(block(randn(2, 4, 8, 8)), "BasicBlock(4, 8, stride=2) on a (2, 4, 8, 8) input",
                  shape=(2, 8, 4, 4))


def test_block_forward_small(sub):
    """In eval mode, does BasicBlock(4, 8, stride=2) match the reference with the grader's weights?"""
    reference = Block(4, 8, 2)
    block = sub.BasicBlock(4, 8, stride=2)
    load_reference_state(block, reference)
    block.eval()
    x = randn(2, 4, 8, 8)
    with torch.no_grad():
        expected = copy.deepcopy(reference).double().eval()(x.double()).float()
    assert_close(block(x), expected, "BasicBlock(4, 8, stride=2) in eval mode",
                 family="small normal batch")

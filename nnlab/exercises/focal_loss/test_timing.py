"""Timing check for focal_loss: FocalLoss against the formula written with torch ops."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from nnlab.grader.checks import Timed, TimingRequest, assert_fast, binary, normal, timing

# Elementwise work on a quarter-million (CPU) or 16 million (GPU) logits: a Python loop over
# rows or elements pays the interpreter once per row.
SIZES = {"cpu": (2048, 64), "cuda": (4096, 4096)}


def sigmoid_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """torchvision.ops.sigmoid_focal_loss with reduction='mean', in torch ops."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.mean()


def _case(device: str) -> Timed:
    rows, cols = SIZES[device]
    return Timed(lambda root: root.FocalLoss().to(device), sigmoid_focal_loss,
                 [normal(rows, cols, scale=3.0), binary(rows, cols)])


@timing
def test_speed(sub, grading):
    """Is FocalLoss() about as fast as the formula written with torch ops (no Python loops)?"""
    assert_fast(grading, sub, TimingRequest(
        _case, "FocalLoss()(logits, targets)", "the torch-ops formula",
        gate=("test_binary_defaults", "test_binary_reductions", "test_binary_alpha_gamma")))

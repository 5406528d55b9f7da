"""Public checks for residual_block: quick feedback on the common mistakes."""
from __future__ import annotations

import copy

import torch
from torch import nn

from nnlab.grader.checks import assert_close, assert_tensor, load_reference_state, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _reference(hidden_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(),
                         nn.Dropout(0.0), nn.Linear(hidden_dim, hidden_dim),
                         nn.BatchNorm1d(hidden_dim))


class _Holder(nn.Module):
    def __init__(self, hidden_dim: int) -> None:
        super().__init__()
        self.net = _reference(hidden_dim)


def test_output_shape(sub):
    """Does ResidualBlock(8) map a (5, 8) batch to (5, 8) in both modes?"""
    block = sub.ResidualBlock(8)
    assert_tensor(block.train()(randn(5, 8)), "ResidualBlock(8) in training mode on a (5, 8) input",
                  shape=(5, 8))
    assert_tensor(block.eval()(randn(5, 8)), "ResidualBlock(8) in eval mode on a (5, 8) input",
                  shape=(5, 8))


def test_eval_forward_small(sub):
    """In eval mode, is the output relu(net(x) + x) with the grader's weights?"""
    reference = _Holder(6)
    block = sub.ResidualBlock(6)
    load_reference_state(block, reference)
    block.eval()
    x = randn(4, 6)
    ref = copy.deepcopy(reference).double().eval()
    with torch.no_grad():
        expected = torch.relu(ref.net(x.double()) + x.double()).float()
    assert_close(block(x), expected, "ResidualBlock(6) in eval mode", family="small normal batch")

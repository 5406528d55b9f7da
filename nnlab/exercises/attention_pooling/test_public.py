"""Public checks for attention_pooling: quick feedback on the common mistakes."""
from __future__ import annotations

import torch
from torch import nn

from nnlab.grader.checks import CheckFailed, assert_close, assert_tensor, load_reference_state, randn

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


def _pair(result: object, what: str) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{what}: expected a pair (context, weights), got {type(result).__name__}")
    return tuple(result)


def test_output_shapes(sub):
    """Does AttentionPooling(4) map (3, 5, 4) to a context (3, 4) and weights (3, 5)?"""
    pool = sub.AttentionPooling(4)
    context, weights = _pair(pool(randn(3, 5, 4)), "AttentionPooling(4) on a (3, 5, 4) input")
    assert_tensor(context, "context", shape=(3, 4))
    assert_tensor(weights, "weights", shape=(3, 5))


def test_forward_no_mask(sub):
    """Without a mask, are the weights a softmax over T and the context their weighted sum?"""
    reference = nn.Module()
    reference.attention = nn.Linear(4, 1)
    pool = sub.AttentionPooling(4)
    load_reference_state(pool, reference)
    x = randn(3, 5, 4)
    x64 = x.double()
    scores = (x64 @ reference.attention.weight.detach().double().T).squeeze(-1) \
        + reference.attention.bias.detach().double()
    weights = torch.softmax(scores, dim=1)
    context = (weights.unsqueeze(-1) * x64).sum(dim=1)
    got_context, got_weights = _pair(pool(x), "AttentionPooling(4) on a (3, 5, 4) input")
    assert_close(got_weights, weights.float(), "weights", family="small normal batch")
    assert_close(got_context, context.float(), "context", family="small normal batch")

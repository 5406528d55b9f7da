"""Hidden checks for attention_pooling: the whole contract of its statement."""
from __future__ import annotations

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_equal, assert_tensor,
                                 audited_call, evaluate, gradcheck_remote,
                                 load_reference_state, noncontig, parameters_of, randint, randn,
                                 state_dict_of, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True


class Reference(nn.Module):
    """Holds the grader's attention layer (the state_dict the student's module receives)."""

    def __init__(self, hidden_dim: int, weight_scale: float = 1.0) -> None:
        super().__init__()
        self.attention = nn.Linear(hidden_dim, 1)
        with torch.no_grad():
            self.attention.weight.mul_(weight_scale)


def _pool(x: torch.Tensor, attention: nn.Linear, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference attention pooling (differentiable, NaN-free for rows with no True position)."""
    scores = attention(x).squeeze(-1)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        has_any = mask.any(dim=-1, keepdim=True)
        scores = torch.where(has_any, scores.masked_fill(~mask, float("-inf")), torch.zeros_like(scores))
        weights = torch.where(has_any, torch.softmax(scores, dim=-1), torch.zeros_like(scores))
    return (weights.unsqueeze(-1) * x).sum(dim=1), weights


def _expected(reference: Reference, x: torch.Tensor,
              mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference (context, weights) in float64 from pristine copies, cast to x's dtype."""
    attention = nn.Linear(x.shape[-1], 1).double()
    attention.load_state_dict({k: v.double() for k, v in reference.attention.state_dict().items()})
    with torch.no_grad():
        context, weights = _pool(x.double(), attention, mask)
    return context.to(x.dtype), weights.to(x.dtype)


def _pair(result: object, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailed(f"{what}: expected a pair (context, weights), got {type(result).__name__}")
    return tuple(result)


def _random_mask(batch: int, steps: int, empty_rows: tuple[int, ...] = ()) -> torch.Tensor:
    """A random boolean mask with at least one True per row, except the rows listed as empty.

    Its boundary rows are there every time, at drawn places: one all True, one with a single
    True step, and the first and the last step each a row's only sure True.
    """
    mask = torch.rand(batch, steps) < 0.6
    mask[torch.arange(batch), randint(0, steps, batch)] = True
    rows = [r for r in torch.randperm(batch).tolist() if r not in empty_rows]
    if len(rows) >= 2 and steps >= 2:
        mask[rows[0]] = True
        mask[rows[1]] = False
        mask[rows[1], randint(0, steps, 1)] = True
    for row in empty_rows:
        mask[row] = False
    return mask


def _module(sub: Remote, hidden: int, weight_scale: float = 1.0) -> tuple[Remote, Reference]:
    reference = Reference(hidden, weight_scale)
    pool = sub.AttentionPooling(hidden)
    keys = sorted(state_dict_of(pool))
    assert_equal(keys, ["attention.bias", "attention.weight"], f"state_dict keys of AttentionPooling({hidden})")
    load_reference_state(pool, reference)
    return pool, reference


def _compare(pool: Remote, reference: Reference, x: torch.Tensor, mask: torch.Tensor | None,
             what: str, family: str, sent: object = None, mask_sent: object = None,
             by_keyword: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Runs the student's pooling and compares both outputs to the reference."""
    arg = x if sent is None else sent
    margs = mask if mask_sent is None else mask_sent
    if mask is None and not by_keyword:
        result = pool(arg)
    elif by_keyword:
        result = pool(arg, mask=margs)
    else:
        result = pool(arg, margs)
    context, weights = _pair(result, what)
    want_context, want_weights = _expected(reference, x, mask)
    batch, steps, hidden = x.shape
    assert_tensor(weights, f"weights of {what}", shape=(batch, steps), dtype=x.dtype)
    assert_tensor(context, f"context of {what}", shape=(batch, hidden), dtype=x.dtype)
    if bool(torch.isnan(weights).any()) or bool(torch.isnan(context).any()):
        raise CheckFailed(f"{what} ({family}): the output contains NaN")
    assert_close(weights, want_weights, f"weights of {what}", family=family)
    # The context sums T terms of the size of x: its rounding scales with them.
    scale = float(x.abs().max()) if x.numel() else 1.0
    assert_close(context, want_context, f"context of {what}", family=family,
                 atol=1e-5 * max(1.0, scale) if x.dtype == torch.float32 else None)
    return context, weights


def test_parameters(sub):
    """Is `attention` an nn.Linear(hidden_dim, 1), the module's only parameters?"""
    for hidden in (5, 1):
        params = parameters_of(sub.AttentionPooling(hidden))
        assert_equal(sorted(params), ["attention.bias", "attention.weight"],
                     f"parameter names of AttentionPooling({hidden})")
        assert_tensor(params["attention.weight"], "attention.weight", shape=(1, hidden), dtype=torch.float32)
        assert_tensor(params["attention.bias"], "attention.bias", shape=(1,), dtype=torch.float32)


def test_no_mask_parity(sub):
    """Without a mask, do context and weights match the reference for odd sizes, T=1, float64?"""
    cases = [("odd sizes", 2, 11, 3), ("one step", 3, 1, 5), ("one sequence", 1, 6, 7),
             ("wide hidden", 4, 5, 16)]
    for family, batch, steps, hidden in cases:
        pool, reference = _module(sub, hidden)
        x = randn(batch, steps, hidden)
        _compare(pool, reference, x, None, f"AttentionPooling({hidden}) on ({batch}, {steps}, {hidden})",
                 family)
    pool, reference = _module(sub, 6)
    x = randn(3, 4, 6)
    _compare(pool, reference, x, None, "AttentionPooling(6) with mask=None", "mask=None passed explicitly",
             by_keyword=True)
    _compare(pool, reference, x, None, "AttentionPooling(6)", "non-contiguous", sent=noncontig(x))
    pool64 = pool.double()
    x64 = randn(3, 4, 6, dtype=torch.float64)
    _compare(pool64, reference, x64, None, "AttentionPooling(6).double()", "float64")


def test_weights_sum_to_one(sub):
    """Are the weights in [0, 1], summing to 1 over T in every row with a True position?"""
    pool, reference = _module(sub, 5)
    for mask in (None, _random_mask(6, 9)):
        x = randn(6, 9, 5, scale=3.0)
        _, weights = _pair(pool(x) if mask is None else pool(x, mask), "AttentionPooling(5)")
        assert_tensor(weights, "weights of AttentionPooling(5)", shape=(6, 9))
        family = "no mask" if mask is None else "random mask"
        if bool(((weights < 0) | (weights > 1) | torch.isnan(weights)).any()):
            raise CheckFailed(f"weights ({family}): expected values in [0, 1], got one of "
                              f"{weights[(weights < 0) | (weights > 1) | torch.isnan(weights)][0].item():.6g}")
        assert_close(weights.double().sum(dim=1), torch.ones(6, dtype=torch.float64),
                     "the sum of the weights over T", family=family, rtol=1e-5, atol=1e-5)


def test_mask_semantics(sub):
    """Do masked (False) positions get weight 0, the others a softmax among themselves?"""
    pool, reference = _module(sub, 6)
    for trial in range(3):
        x = randn(5, 8, 6)
        mask = _random_mask(5, 8)
        # rnn_output and mask are the caller's: values, flags, .grad and hooks left as they were.
        result = audited_call(pool, (x, mask), names=("rnn_output", "mask"))
        context, weights = _pair(result, "AttentionPooling(6) with a mask")
        assert_tensor(weights, "weights of AttentionPooling(6) with a mask", shape=(5, 8))
        masked = weights[~mask]
        if bool((masked != 0).any()):
            raise CheckFailed(f"a position whose mask is False got weight {masked[masked != 0][0].item():.6g}, "
                              "expected exactly 0")
        _compare(pool, reference, x, mask, "AttentionPooling(6) with a mask", "random mask",
                 by_keyword=trial == 1)
    x = randn(3, 4, 6)
    full = torch.ones(3, 4, dtype=torch.bool)
    _compare(pool, reference, x, full, "AttentionPooling(6) with an all-True mask", "all-True mask")
    x = randn(4, 7, 6)
    mask = _random_mask(4, 7)
    _compare(pool, reference, x, mask, "AttentionPooling(6) with a mask", "non-contiguous input and mask",
             sent=noncontig(x), mask_sent=noncontig(mask))


def test_fully_masked_rows(sub):
    """Does a row with no True position get zero weights and a zero context, never NaN?"""
    pool, reference = _module(sub, 5)
    x = randn(5, 6, 5)
    mask = _random_mask(5, 6, empty_rows=(1, 4))
    context, weights = _compare(pool, reference, x, mask, "AttentionPooling(5)",
                                "rows 1 and 4 have no True position")
    for row in (1, 4):
        if bool((weights[row] != 0).any()) or bool((context[row] != 0).any()):
            raise CheckFailed(f"row {row} has no True position: expected zero weights and a zero context, "
                              f"got weights {weights[row].tolist()}")
    x = randn(2, 3, 5)
    _compare(pool, reference, x, torch.zeros(2, 3, dtype=torch.bool), "AttentionPooling(5)",
             "every row empty")
    x = randn(1, 1, 5)
    _compare(pool, reference, x, torch.zeros(1, 1, dtype=torch.bool), "AttentionPooling(5)",
             "a single empty step")


def test_large_magnitudes(sub):
    """Is the softmax stable for scores of magnitude 1e4, masked positions with the largest scores?"""
    hidden = 6
    pool, reference = _module(sub, hidden, weight_scale=10.0)
    w = reference.attention.weight.detach().double()[0]
    for family, mask in (("scores near 1e4, no mask", None), ("scores near 1e4, masked maxima",
                                                              _random_mask(4, 7, empty_rows=(2,)))):
        x = randn(4, 7, hidden, dtype=torch.float64)
        # Put every score near +-1e4 along the attention direction.
        x = x + (torch.randn(4, 7, 1, dtype=torch.float64) * 1e4) * (w / w.dot(w))
        if mask is not None:
            # The masked positions get the largest scores: they must still get weight 0.
            x[~mask] += 3e4 * (w / w.dot(w))
        _compare(pool, reference, x.float(), mask, f"AttentionPooling({hidden})", family)


def _concatenated(pool: Remote, mask: torch.Tensor | None) -> Remote:
    # A trusted helper in the worker: one tensor (context | weights) for gradcheck.
    return evaluate(pool, "lambda x: torch.cat(list(m(x) if mask is None else m(x, mask)), dim=-1)",
                    label="AttentionPooling (context and weights)", m=pool, mask=mask)


def _vjp_against_reference(pool: Remote, reference: Reference, x: torch.Tensor,
                           mask: torch.Tensor | None, family: str) -> None:
    batch, steps, hidden = x.shape
    grad_context = randn(batch, hidden, dtype=torch.float64)
    grad_weights = randn(batch, steps, dtype=torch.float64)
    _, grads, param_grads = vjp(pool, [x], [grad_context, grad_weights], module=pool,
                                extra_args=() if mask is None else (mask,))
    attention = nn.Linear(hidden, 1).double()
    attention.load_state_dict({k: v.double() for k, v in reference.attention.state_dict().items()})
    x_ref = x.clone().requires_grad_(True)
    context, weights = _pool(x_ref, attention, mask)
    torch.autograd.backward([context, weights], [grad_context, grad_weights])
    got = grads[0]
    if got is None:
        raise CheckFailed(f"no gradient reached rnn_output ({family})")
    assert_tensor(got, f"gradient with respect to rnn_output ({family})", shape=x.shape)
    if bool(torch.isnan(got).any()):
        raise CheckFailed(f"the gradient with respect to rnn_output contains NaN ({family})")
    assert_close(got, x_ref.grad, "gradient with respect to rnn_output", family=family)
    for name in ("weight", "bias"):
        key = f"attention.{name}"
        grad = param_grads.get(key)
        if grad is None:
            raise CheckFailed(f"no gradient reached `{key}` ({family}): is `self.attention` used?")
        assert_tensor(grad, f"gradient of {key} ({family})", shape=getattr(attention, name).shape)
        if bool(torch.isnan(grad).any()):
            raise CheckFailed(f"the gradient of {key} contains NaN ({family})")
        assert_close(grad, getattr(attention, name).grad, f"gradient of {key}", family=family)


def test_gradients(sub):
    """Do gradients match: gradcheck in float64, and rnn_output/attention grads equal the reference's?"""
    pool, reference = _module(sub, 2)
    pool64 = pool.double()
    # Small: gradcheck costs two forwards per input element and a backward per output element.
    x = randn(2, 3, 2, dtype=torch.float64)
    mask = torch.tensor([[True, False, True], [True, True, True]])
    gradcheck_remote(_concatenated(pool64, mask), [x], "AttentionPooling(2) with a mask", module=pool64)
    pool, reference = _module(sub, 3)
    pool64 = pool.double()
    _vjp_against_reference(pool64, reference, randn(3, 5, 3, dtype=torch.float64), None, "no mask")
    _vjp_against_reference(pool64, reference, randn(3, 5, 3, dtype=torch.float64),
                           _random_mask(3, 5), "random mask")


def test_fully_masked_gradients(sub):
    """For a row with no True position, are the gradients zero rather than NaN?"""
    pool, reference = _module(sub, 4)
    pool64 = pool.double()
    mask = _random_mask(4, 5, empty_rows=(0, 3))
    _vjp_against_reference(pool64, reference, randn(4, 5, 4, dtype=torch.float64), mask,
                           "rows 0 and 3 have no True position")
    pool, _ = _module(sub, 2)
    pool64 = pool.double()
    x = randn(2, 2, 2, dtype=torch.float64)
    gradcheck_remote(_concatenated(pool64, torch.tensor([[False, False], [True, False]])), [x],
                     "AttentionPooling(2) with an empty row", module=pool64)

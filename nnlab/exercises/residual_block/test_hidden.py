"""Hidden checks for residual_block: the whole contract of its statement."""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

from nnlab.grader.checks import (CheckFailed, Remote, assert_close, assert_equal, assert_tensor,
                                 buffers_of, audited_call, evaluate, gradcheck_remote,
                                 load_reference_state, noncontig, parameters_of, randn,
                                 state_dict_of, vjp)

# The statement says the caller's inputs are left as they were: every call through
# `sub` (and what it returns) is audited, in every check, edge cases included.
AUDIT_INPUTS = True

LAYOUT = ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d"]
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


class Reference(nn.Module):
    """The grader's ResidualBlock, written with torch.nn."""

    def __init__(self, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.BatchNorm1d(hidden_dim),
                                 nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, hidden_dim),
                                 nn.BatchNorm1d(hidden_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + x)


def _reference(hidden_dim: int, dropout: float = 0.0, randomize: bool = True) -> Reference:
    """A reference block whose BatchNorm layers are not at their (uninformative) defaults."""
    ref = Reference(hidden_dim, dropout)
    if randomize:
        with torch.no_grad():
            for bn in (ref.net[1], ref.net[5]):
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.5)
                bn.running_mean.normal_(0.0, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.num_batches_tracked.fill_(3)
    return ref


def _load(block: Remote, reference: nn.Module, what: str) -> None:
    """Loads the reference's state, after checking the key names and shapes first."""
    got = state_dict_of(block)
    want = reference.state_dict()
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing or extra:
        raise CheckFailed(f"state_dict keys of {what}: expected {list(want)}; missing {missing}, "
                          f"unexpected {extra}")
    for key, value in want.items():
        assert_tensor(got[key], f"state_dict entry '{key}' of {what}", shape=tuple(value.shape))
    load_reference_state(block, reference)


def _expected(reference: nn.Module, x: torch.Tensor, train: bool) -> tuple[torch.Tensor, nn.Module]:
    """The reference output in float64 (from a pristine copy) cast to x's dtype, and the copy."""
    ref = copy.deepcopy(reference).double().train(train)
    with torch.no_grad():
        out = ref(x.double())
    return out.to(x.dtype), ref


def _layout(block: Remote) -> list:
    names = LAYOUT[:4]  # Linear, BatchNorm1d, ReLU, Dropout
    return evaluate(
        block,
        "None if not isinstance(getattr(b, 'net', None), nn.Sequential) else "
        "[next((n for n in names if isinstance(m, getattr(nn, n))), type(m).__name__) for m in b.net]",
        label="the layout of net", b=block, names=names)


def test_structure(sub):
    """Is `net` a Sequential of Linear, BatchNorm1d, ReLU, Dropout(dropout), Linear, BatchNorm1d?"""
    for hidden, dropout in [(7, 0.3), (16, 0.0)]:
        block = sub.ResidualBlock(hidden, dropout=dropout)
        layout = _layout(block)
        if layout is None:
            raise CheckFailed(f"ResidualBlock({hidden}, dropout={dropout}): `self.net` should be an "
                              "nn.Sequential")
        assert_equal(layout, LAYOUT, f"the layers of ResidualBlock({hidden}).net, in order")
        p = evaluate(block, "b.net[3].p", label="net[3].p", b=block)
        assert_equal(p, dropout, f"the dropout probability of ResidualBlock({hidden}, dropout={dropout})")
        _load(block, _reference(hidden), f"ResidualBlock({hidden})")
        params = parameters_of(block)
        count = sum(v.numel() for v in params.values() if type(v) is torch.Tensor)
        assert_equal(count, 2 * hidden * hidden + 6 * hidden,
                     f"number of parameters of ResidualBlock({hidden})")
    default_p = evaluate(sub, "submission.ResidualBlock(5).net[3].p", label="the default")
    assert_equal(default_p, 0.1, "the dropout probability of ResidualBlock(5) (the default)")


def test_eval_parity(sub):
    """In eval mode, does the block match the reference (odd sizes, one sample, large inputs), input intact?"""
    cases = [("odd sizes", 7, 5, 1.0), ("one sample", 9, 1, 1.0), ("one feature", 1, 6, 1.0),
             ("large magnitudes", 12, 8, 1e3)]
    for family, hidden, batch, scale in cases:
        reference = _reference(hidden)
        block = sub.ResidualBlock(hidden, dropout=0.5)  # dropout must be inactive in eval mode
        _load(block, reference, f"ResidualBlock({hidden})")
        block.eval()
        x = randn(batch, hidden, scale=scale)
        expected, _ = _expected(reference, x, train=False)
        # float32 rounding grows with the size of the terms (x itself is added back).
        atol = 1e-5 * scale * max(1.0, math.sqrt(hidden))
        assert_close(block(x), expected, f"ResidualBlock({hidden}) in eval mode on ({batch}, {hidden})",
                     family=family, atol=atol)
    reference = _reference(6)
    block = sub.ResidualBlock(6)
    _load(block, reference, "ResidualBlock(6)")
    block.eval()
    x = randn(5, 6)
    result = audited_call(block, (x,), names=("x",))
    assert_close(result, _expected(reference, x, train=False)[0], "ResidualBlock(6) in eval mode",
                 family="input left unchanged")
    assert_close(block(noncontig(x)), _expected(reference, x, train=False)[0],
                 "ResidualBlock(6) in eval mode", family="non-contiguous")
    block64 = block.double()
    x64 = randn(5, 6, dtype=torch.float64)
    assert_close(block64(x64), _expected(reference, x64, train=False)[0],
                 "ResidualBlock(6).double() in eval mode", family="float64")


def test_train_parity(sub):
    """In training mode (dropout=0), does the block normalize with batch statistics like the reference?"""
    cases = [("odd sizes", 7, 5, 1.0), ("two samples", 4, 2, 1.0), ("large magnitudes", 10, 9, 1e3),
             ("shifted inputs", 5, 6, 1.0)]
    for family, hidden, batch, scale in cases:
        reference = _reference(hidden)
        block = sub.ResidualBlock(hidden, dropout=0.0)
        _load(block, reference, f"ResidualBlock({hidden}, dropout=0.0)")
        block.train()
        x = randn(batch, hidden, scale=scale)
        if family == "shifted inputs":
            x = x + 3.0
        expected, _ = _expected(reference, x, train=True)
        atol = 1e-5 * scale * max(1.0, math.sqrt(hidden))
        assert_close(block(x), expected,
                     f"ResidualBlock({hidden}, dropout=0.0) in training mode on ({batch}, {hidden})",
                     family=family, atol=atol)


def test_running_stats(sub):
    """After training-mode forwards, are both BatchNorm layers' running statistics the reference's?"""
    hidden = 6
    reference = _reference(hidden)
    block = sub.ResidualBlock(hidden, dropout=0.0)
    _load(block, reference, f"ResidualBlock({hidden}, dropout=0.0)")
    block.train()
    ref = copy.deepcopy(reference).double().train()
    for step, batch in enumerate((5, 8)):
        x = randn(batch, hidden) * 2 + 1
        block(x)
        with torch.no_grad():
            ref(x.double())
        got = buffers_of(block)
        for layer in ("net.1", "net.5"):
            for name in BUFFERS:
                key = f"{layer}.{name}"
                want = getattr(ref.net[int(layer[-1])], name)
                if key not in got:
                    raise CheckFailed(f"buffer '{key}' is missing from ResidualBlock({hidden})")
                want = want if name == "num_batches_tracked" else want.float()
                assert_close(got[key], want, f"{key} after {step + 1} training-mode forward(s)",
                             family="normal batch")


def test_dropout(sub):
    """Does Dropout(dropout) sit after the ReLU, active in training mode only?"""
    # With dropout=1 the second Linear sees zeros: its output is its bias in every row, the last
    # BatchNorm maps a constant batch to its own bias, and the block returns relu(x + bn2.bias).
    hidden = 7
    reference = _reference(hidden, dropout=1.0)
    block = sub.ResidualBlock(hidden, dropout=1.0)
    _load(block, reference, f"ResidualBlock({hidden}, dropout=1.0)")
    block.train()
    x = randn(6, hidden)
    expected, _ = _expected(reference, x, train=True)
    assert_close(block(x), expected, f"ResidualBlock({hidden}, dropout=1.0) in training mode",
                 family="dropout drops everything")
    load_reference_state(block, reference)  # undo the running-statistics update
    block.eval()
    expected, _ = _expected(reference, x, train=False)
    assert_close(block(x), expected, f"ResidualBlock({hidden}, dropout=1.0) in eval mode",
                 family="dropout must be the identity in eval mode")


def test_gradients(sub):
    """Do gradients match: gradcheck in float64, and parameter grads equal to the reference's?"""
    hidden = 2
    reference = _reference(hidden).double()
    block = sub.ResidualBlock(hidden, dropout=0.0).double()
    _load(block, reference, f"ResidualBlock({hidden}, dropout=0.0)")
    block.train()
    x = randn(3, hidden, dtype=torch.float64)
    # Every element probed: a dropout left on in training mode is random on a few of them.
    gradcheck_remote(block, [x], f"ResidualBlock({hidden}) in training mode, input gradient",
                     module=block, fast_mode=False)
    hidden = 5
    reference = _reference(hidden).double()
    block = sub.ResidualBlock(hidden, dropout=0.0).double()
    _load(block, reference, f"ResidualBlock({hidden}, dropout=0.0)")
    # One reference for both modes: the training-mode pass updates both sides' running stats.
    ref = copy.deepcopy(reference)
    for train in (True, False):
        mode = "training" if train else "eval"
        block.train(train)
        ref.train(train)
        ref.zero_grad(set_to_none=True)
        x = randn(6, hidden, dtype=torch.float64)
        grad_out = randn(6, hidden, dtype=torch.float64)
        _, grads, param_grads = vjp(block, [x], [grad_out], module=block)
        x_ref = x.clone().requires_grad_(True)
        ref(x_ref).backward(grad_out)
        assert_close(grads[0], x_ref.grad, f"gradient with respect to the input ({mode} mode)")
        for name, param in ref.named_parameters():
            got = param_grads.get(name)
            if got is None:
                raise CheckFailed(f"no gradient reached `{name}` in {mode} mode: is it used in forward?")
            assert_close(got, param.grad, f"gradient of {name} ({mode} mode)")

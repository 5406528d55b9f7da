"""Public checks for train_loop: quick feedback on the common mistakes."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nnlab.grader.checks import CheckFailed, assert_close, evaluate, parameters_of

_MODEL = "nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))"
_OPT = "torch.optim.SGD(m.parameters(), lr=0.05)"
# In the worker: the model `spec` describes (the same source the grader evaluates for its
# reference), in float64, with the state `sd`.
_BUILD = "(lambda m: (m.load_state_dict(sd), m)[1])(eval(spec).double())"


def _setup(sub: Any) -> tuple[Any, Any, Any, list[tuple[torch.Tensor, torch.Tensor]], nn.Module, float]:
    """The same model, optimizer and data in the worker and, trained by the reference loop, here."""
    reference = eval(_MODEL, {"nn": nn}).double()
    state = {k: v.clone() for k, v in reference.state_dict().items()}
    loader = [(torch.randn(n, 4, dtype=torch.float64), torch.randn(n, 1, dtype=torch.float64))
              for n in (4, 4, 3)]
    model = evaluate(sub, _BUILD, label="a small MLP", spec=_MODEL, sd=state)
    opt = evaluate(sub, _OPT, label="an SGD optimizer", m=model)
    loss_fn = evaluate(sub, "nn.MSELoss()", label="nn.MSELoss()")
    result = sub.train_one_epoch(model, loader, opt, loss_fn)
    # The reference loop.
    optimizer = eval(_OPT, {"torch": torch}, {"m": reference})
    total = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(reference(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x)
    return model, result, opt, loader, reference, total / 11


def test_returns_mean_loss(sub):
    """Does train_one_epoch return the epoch's mean loss per sample (batches of 4, 4 and 3)?"""
    _, result, _, _, _, expected = _setup(sub)
    if isinstance(result, torch.Tensor) and result.numel() == 1:
        result = result.item()
    if not isinstance(result, (int, float)) or isinstance(result, bool):
        raise CheckFailed(f"train_one_epoch returned {type(result).__name__}; expected the mean loss as a float")
    assert_close(torch.tensor(float(result), dtype=torch.float64), torch.tensor(expected, dtype=torch.float64),
                 "mean loss per sample over the epoch", family="MLP regression, SGD")


def test_parameters_updated(sub):
    """Are the parameters after one epoch those of the reference loop (zero_grad, backward, step per batch)?"""
    model, _, _, _, reference, _ = _setup(sub)
    params = parameters_of(model)
    for name, param in reference.named_parameters():
        got = params.get(name)
        if got is None:
            raise CheckFailed(f"parameter {name} is missing after training")
        assert_close(got, param.detach(), f"parameter {name} after one epoch", family="MLP regression, SGD")

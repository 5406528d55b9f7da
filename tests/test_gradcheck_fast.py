"""gradcheck_remote probes a few projections by default, not every element."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
import torch

from nnlab.grader.checks import gradcheck_remote
from nnlab.grader.session import WorkerSession

_SOURCE = '''
import torch


class _Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 2 * x * grad


def square(x):
    return _Square.apply(x)
'''


@pytest.fixture
def root(launcher) -> Iterator[Any]:
    session = WorkerSession(launcher, _SOURCE, "sample.py", [], [], 60.0)
    try:
        yield session.root
    finally:
        session.close()


def test_gradcheck_probes_a_few_projections_by_default(root, monkeypatch) -> None:
    """Does the default gradcheck make a few round trips to the worker, where probing every
    element makes two per element and more?"""
    requests: list[str] = []
    send = WorkerSession.request

    def counted(self: WorkerSession, request: Any, doing: str) -> Any:
        requests.append(type(request).__name__)
        return send(self, request, doing)

    monkeypatch.setattr(WorkerSession, "request", counted)
    x = torch.randn(4, 5, dtype=torch.float64)
    gradcheck_remote(root.square, [x], "square")
    by_default = len(requests)
    requests.clear()
    gradcheck_remote(root.square, [x], "square", fast_mode=False)
    every_element = len(requests)
    assert every_element >= 2 * x.numel()
    assert by_default < x.numel() and 2 * by_default < every_element


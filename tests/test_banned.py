"""The banned-API scan: every spelling is caught, legitimate code is not; and the watch
that runs during timed calls."""
from __future__ import annotations

import pytest
import torch

from nnlab.grader.banned import find_banned

BANNED = ["torch.nn.Linear", "torch.nn.functional.linear", "torch.sigmoid", "torch.Tensor.sigmoid"]


@pytest.mark.parametrize("source", [
    "import torch.nn.functional as F\nF.linear(x, w)\n",
    "from torch.nn.functional import linear as lin\n",
    "import torch\nL = torch.nn.modules.linear.Linear\n",
    "import torch\nnn2 = torch.nn\nnn2.Linear(2, 3)\n",
    "import torch\nf = getattr(torch.nn, 'Linear')\n",
    "import torch\nf = getattr(torch, 'sig' + 'moid')\n",
    "from torch.nn import *\nLinear(1, 2)\n",
    "m = __import__('torch')\n",
    "import importlib\n",
    "import torch\ntorch.Tensor.sigmoid(x)\n",
    "import torch as T\nT.sigmoid(x)\n",
    "import torch\ny = torch.ops.aten.sigmoid(x)\n",
])
def test_every_spelling_is_caught(source: str) -> None:
    """Is a banned API found however it is spelled or reached?"""
    assert find_banned(source, BANNED), source


@pytest.mark.parametrize("source", [
    "import torch\nfrom torch import nn\nclass M(nn.Module):\n    def forward(self, x):\n        return x @ self.w.T\n",
    "class A:\n    def sigmoid(self, x):\n        return x\n    def f(self, x):\n        return self.sigmoid(x)\n",
    "import torch\ny = 1 / (1 + torch.exp(-x))\n",
    "import math\nimport torch.nn as nn\nlayer = nn.ReLU()\n",
])
def test_legitimate_code_is_not_flagged(source: str) -> None:
    """Does code that uses no banned API pass the scan?"""
    assert find_banned(source, BANNED) == []


def test_nothing_is_flagged_when_nothing_is_banned() -> None:
    """Are dynamic constructs allowed in exercises that ban nothing?"""
    assert find_banned("m = __import__('torch')\n", []) == []


@pytest.mark.parametrize("call", [lambda x: torch.ops.aten.sigmoid.default(x),
                                  lambda x: torch.ops.aten.sigmoid(x),
                                  lambda x: torch.__dict__["ops"].aten.sigmoid(x)],
                         ids=["overload", "packet", "through-dict"])
def test_timed_calls_catch_an_operator_called_by_name(call) -> None:
    """During timed calls only banned functions are watched (aten ops would cost too much):
    is a banned aten operator called by name, past the source scan, still caught?"""
    from nnlab.wire.messages import TimeLoop
    from nnlab.worker.server import Worker

    pool = torch.randn(40)

    def timed(traced: bool) -> TimeLoop:
        # On the worker's side a request's Ref fields hold the objects themselves.
        return TimeLoop(target=call, args=[["window", pool, [8], 8, False]], kwargs={}, iterations=3,
                        first=0, backward=False, grad_output=None, threads=0, digests=False,
                        traced=traced)

    worker = Worker()
    worker.trace.configure([], ["aten::sigmoid"])
    worker.op_time_loop(timed(True))
    assert worker.trace.seen == ["aten::sigmoid"]
    untraced = Worker()
    untraced.trace.configure([], ["aten::sigmoid"])
    untraced.op_time_loop(timed(False))
    assert untraced.trace.seen == []

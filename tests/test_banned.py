"""The banned-API scan: every spelling is caught, legitimate code is not."""
from __future__ import annotations

import pytest

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

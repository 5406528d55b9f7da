"""Correct, written differently: torch.func.grad twice, vectorized with vmap."""
# nnlab-expect: full
import torch
from torch.func import grad, vmap


def derivatives(fn, x):
    def scalar(t):
        return fn(t)

    first = grad(scalar)
    second = grad(first)
    x = x.detach()
    return vmap(first)(x).detach(), vmap(second)(x).detach()

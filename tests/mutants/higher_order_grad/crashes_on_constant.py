"""Handles a linear fn, but a constant fn (no graph at all) makes autograd.grad raise."""
# nnlab-expect: test_constant_function
import torch


def derivatives(fn, x):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf)
        (d1,) = torch.autograd.grad(y.sum(), leaf, create_graph=True)
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), leaf)
        else:
            d2 = torch.zeros_like(x)
    return d1.detach(), d2.detach()

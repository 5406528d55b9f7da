"""Correct for curved functions, but raises for a linear fn (its first derivative has no graph)."""
# nnlab-expect: test_linear_function
import torch


def derivatives(fn, x):
    x = x.detach().requires_grad_(True)
    y = fn(x)
    (d1,) = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)
    (d2,) = torch.autograd.grad(d1, x, torch.ones_like(d1))
    return d1.detach(), d2.detach()

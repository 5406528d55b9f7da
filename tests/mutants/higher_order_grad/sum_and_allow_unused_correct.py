"""Correct: grads of sums, materialize_grads for the linear case, zeros for a constant fn,
leaves the caller's x alone."""
# nnlab-expect: full
import torch


def derivatives(fn, x):
    leaf = x.clone().requires_grad_()
    y = fn(leaf)
    if not y.requires_grad:  # a constant fn: both derivatives are 0
        return torch.zeros_like(x), torch.zeros_like(x)
    (d1,) = torch.autograd.grad(y.sum(), leaf, create_graph=True)
    if d1.grad_fn is None:
        d2 = torch.zeros_like(d1)
    else:
        (d2,) = torch.autograd.grad(d1.sum(), leaf, materialize_grads=True)
    return d1.detach(), d2.detach()

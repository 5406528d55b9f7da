"""Differentiates y.mean() instead of y.sum(): every derivative divided by len(x)."""
# nnlab-expect: test_cubic test_pair_shapes test_polynomials test_transcendental test_tanh_sigmoid_softplus test_linear_function test_sizes_dtypes_noncontiguous test_repeated_calls
import torch


def derivatives(fn, x):
    x = x.detach().requires_grad_(True)
    y = fn(x)
    (d1,) = torch.autograd.grad(y.mean(), x, create_graph=True)
    if not d1.requires_grad:
        return d1.detach(), torch.zeros_like(x)
    (d2,) = torch.autograd.grad(d1.mean(), x)
    return d1.detach(), d2.detach()

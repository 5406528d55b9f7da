"""No create_graph, and "fixes" the error by returning zeros for the second derivative."""
# nnlab-expect: test_cubic test_pair_shapes test_polynomials test_transcendental test_tanh_sigmoid_softplus test_sizes_dtypes_noncontiguous test_repeated_calls
import torch


def derivatives(fn, x):
    x = x.detach().requires_grad_(True)
    y = fn(x)
    (d1,) = torch.autograd.grad(y, x, torch.ones_like(y))
    try:
        (d2,) = torch.autograd.grad(d1, x, torch.ones_like(d1))
    except RuntimeError:
        d2 = torch.zeros_like(x)
    return d1.detach(), d2.detach()

"""Right values, but dy_dx comes back still attached to the graph (it was made with create_graph)."""
# nnlab-expect: test_detached_and_x_untouched
import torch


def derivatives(fn, x):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf)
        if not y.requires_grad:
            return torch.zeros_like(x), torch.zeros_like(x)
        (d1,) = torch.autograd.grad(y.sum(), leaf, create_graph=True)
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), leaf, materialize_grads=True)
        else:
            d2 = torch.zeros_like(x)
    return d1, d2.detach()

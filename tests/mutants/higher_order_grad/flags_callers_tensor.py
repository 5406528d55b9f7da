"""Right values and no .grad left, but turns on requires_grad of the caller's own x."""
# nnlab-expect: test_detached_and_x_untouched
import torch


def derivatives(fn, x):
    x.requires_grad_(True)
    with torch.enable_grad():
        y = fn(x)
        if not y.requires_grad:
            return torch.zeros_like(x).detach(), torch.zeros_like(x).detach()
        (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)
        if d1.requires_grad:
            (d2,) = torch.autograd.grad(d1.sum(), x, materialize_grads=True)
        else:
            d2 = torch.zeros_like(x)
    return d1.detach(), d2.detach()

"""Uses .backward() on a leaf that shares the caller's tensor when it already requires grad,
and leaves the second derivative in the caller's x.grad."""
# nnlab-expect: test_detached_and_x_untouched
import torch


def derivatives(fn, x):
    leaf = x if x.requires_grad else x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf)
        if not y.requires_grad:
            return torch.zeros_like(x), torch.zeros_like(x)
        y.sum().backward(create_graph=True)
        d1 = leaf.grad.detach().clone()
        first = leaf.grad
        leaf.grad = None
        if first.requires_grad:
            first.sum().backward()
            d2 = leaf.grad.detach().clone()
        else:
            d2 = torch.zeros_like(x)
    return d1, d2

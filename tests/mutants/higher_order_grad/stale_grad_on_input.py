"""Marks the caller's tensor as requiring grad and uses .backward(): a second call on the same
tensor starts from the first call's leftover x.grad."""
# nnlab-expect: test_repeated_calls
import torch


def derivatives(fn, x):
    x.requires_grad_(True)
    fn(x).sum().backward(create_graph=True)
    d1 = x.grad.clone()
    x.grad = None
    if d1.requires_grad:
        d1.sum().backward()
        d2 = x.grad.clone()
    else:
        d2 = torch.zeros_like(x)
    return d1.detach(), d2.detach()

"""Correct, written with .backward(create_graph=True) on a private leaf (allowed by the contract)."""
# nnlab-expect: full
import torch


def derivatives(fn, x):
    leaf = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf)
        if not y.requires_grad:
            return torch.zeros_like(x), torch.zeros_like(x)
        y.sum().backward(create_graph=True)
        first = leaf.grad
        leaf.grad = None
        if first.requires_grad:
            first.sum().backward()
            second = leaf.grad if leaf.grad is not None else torch.zeros_like(x)
        else:
            second = torch.zeros_like(x)
    return first.detach(), second.detach()

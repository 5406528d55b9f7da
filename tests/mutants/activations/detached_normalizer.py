"""Detaches the softmax denominator "for stability": right values, wrong gradients."""
# nnlab-expect: test_gradcheck test_gradients_vs_torch
import torch


def _neg_abs(x):
    return torch.where(x >= 0, -x, x)


def sigmoid(x):
    e = torch.exp(_neg_abs(x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def relu(x):
    return torch.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, negative_slope * x)


def silu(x):
    return x * sigmoid(x)


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True).detach()


def log_softmax(x, dim=-1):
    z = x - x.amax(dim=dim, keepdim=True)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True)).detach()

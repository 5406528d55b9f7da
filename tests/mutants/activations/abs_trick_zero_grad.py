"""Stable, but via exp(-x.abs()): abs'(0) = 0 makes the sigmoid/tanh/silu gradient wrong at x = 0."""
# nnlab-expect: test_gradient_at_zero
import torch


def sigmoid(x):
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    e = torch.exp(-2 * x.abs())
    return torch.sign(x) * (1 - e) / (1 + e)


def relu(x):
    return torch.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, negative_slope * x)


def silu(x):
    return x * sigmoid(x)


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    z = x - x.amax(dim=dim, keepdim=True)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))

"""Correct, written differently: logaddexp-based sigmoid, (x+|x|)/2 relu (subgradient 1/2 at 0),
where(x >= 0) leaky_relu (subgradient 1 at 0), max not detached, softmax times a reciprocal."""
# nnlab-expect: full
import torch


def sigmoid(x):
    # sigma(x) = exp(-softplus(-x)), softplus written with logaddexp(0, .)
    return torch.exp(-torch.logaddexp(torch.zeros_like(x), -x))


def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def relu(x):
    return (x + x.abs()) / 2


def leaky_relu(x, negative_slope=0.01):
    return torch.where(x >= 0, x, x * negative_slope)


def silu(x):
    return x * sigmoid(x)


def log_softmax(x, dim=-1):
    m = x.max(dim=dim, keepdim=True).values
    return x - m - (x - m).exp().sum(dim=dim, keepdim=True).log()


def softmax(x, dim=-1):
    e = (x - x.max(dim=dim, keepdim=True).values).exp()
    return e * e.sum(dim=dim, keepdim=True).reciprocal()

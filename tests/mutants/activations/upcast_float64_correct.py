"""Correct: computes in float64 and casts back (softmax excepted: it is timed, and float64 costs
~9x on CPU); clamp-based relu (subgradient 1 at 0)."""
# nnlab-expect: full
import torch


def _neg_abs(x):
    return torch.where(x >= 0, -x, x)


def sigmoid(x):
    z = x.double()
    e = torch.exp(_neg_abs(z))
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e)).to(x.dtype)


def tanh(x):
    z = x.double()
    em = torch.expm1(2 * _neg_abs(z))
    t = -em / (2 + em)
    return torch.where(z >= 0, t, -t).to(x.dtype)


def relu(x):
    return torch.clamp(x, min=0)


def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, x * negative_slope)


def silu(x):
    return (x.double() * sigmoid(x.double())).to(x.dtype)


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    z = x.double()
    z = z - z.amax(dim=dim, keepdim=True)
    return (z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))).to(x.dtype)

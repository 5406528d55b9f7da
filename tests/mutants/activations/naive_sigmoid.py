"""The textbook 1/(1+exp(-x)): right values even at -1e4, but the gradient is inf*0 = NaN there."""
# nnlab-expect: test_gradients_vs_torch
import torch


def sigmoid(x):
    return 1 / (1 + torch.exp(-x))


def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


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

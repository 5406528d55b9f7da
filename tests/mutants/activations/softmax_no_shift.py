"""softmax without subtracting the max: exp(1000) = inf, inf/inf = NaN."""
# nnlab-expect: test_large_inputs test_large_magnitudes
import torch


def _neg_abs(x):
    return torch.where(x >= 0, -x, x)


def sigmoid(x):
    e = torch.exp(_neg_abs(x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    e = torch.exp(2 * _neg_abs(x))
    t = (1 - e) / (1 + e)
    return torch.where(x >= 0, t, -t)


def relu(x):
    return torch.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, negative_slope * x)


def silu(x):
    return x * sigmoid(x)


def softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    return x - torch.log(torch.exp(x).sum(dim=dim, keepdim=True))

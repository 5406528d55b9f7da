"""log_softmax as log(softmax(x)): -inf as soon as a probability underflows to 0."""
# nnlab-expect: test_large_inputs test_large_magnitudes
import torch


def _neg_abs(x):
    return torch.where(x >= 0, -x, x)


def sigmoid(x):
    e = torch.exp(_neg_abs(x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def relu(x):
    return x.clamp(min=0)


def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, negative_slope * x)


def silu(x):
    return x * sigmoid(x)


def softmax(x, dim=-1):
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    return torch.log(softmax(x, dim))

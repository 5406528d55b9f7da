"""Computes in float32 and returns float32 whatever the input dtype."""
# nnlab-expect: test_sigmoid_tanh_silu test_relu_and_leaky_relu test_softmax_dims test_large_magnitudes test_gradcheck test_gradients_vs_torch test_gradient_at_zero test_low_precision
import torch


def _f(x):
    return x.to(torch.float32)


def sigmoid(x):
    x = _f(x)
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def relu(x):
    x = _f(x)
    return torch.where(x > 0, x, 0.0)


def leaky_relu(x, negative_slope=0.01):
    x = _f(x)
    return torch.where(x > 0, x, negative_slope * x)


def silu(x):
    return _f(x) * sigmoid(x)


def softmax(x, dim=-1):
    x = _f(x)
    e = torch.exp(x - x.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    x = _f(x)
    z = x - x.amax(dim=dim, keepdim=True)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))

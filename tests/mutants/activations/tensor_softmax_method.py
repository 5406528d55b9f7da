"""Calls the banned Tensor.softmax / Tensor.log_softmax methods: caught at run time (aten::_softmax)."""
# nnlab-expect: test_small_values test_large_inputs test_softmax_dims test_large_magnitudes test_gradcheck test_gradients_vs_torch test_gradient_at_zero test_low_precision
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
    return x.softmax(dim)


def log_softmax(x, dim=-1):
    return x.log_softmax(dim)

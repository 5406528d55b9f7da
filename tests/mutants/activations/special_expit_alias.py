"""Uses torch.special.expit through a from-import alias: banned, zero for the exercise."""
# nnlab-expect: test_small_values test_large_inputs test_sigmoid_tanh_silu test_relu_and_leaky_relu test_softmax_dims test_large_magnitudes test_gradcheck test_gradients_vs_torch test_gradient_at_zero test_low_precision
import torch
from torch.special import expit as logistic


def sigmoid(x):
    return logistic(x)


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
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    z = x - x.amax(dim=dim, keepdim=True)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))

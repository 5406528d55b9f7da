"""Exercise activations: seven activation functions from scratch (see activations.md)."""
from __future__ import annotations

import torch

# Allowed: elementwise torch ops such as torch.exp, torch.expm1, torch.log, torch.log1p,
# torch.where, torch.clamp, torch.abs, and reductions such as amax / max / sum.
# Banned: torch.sigmoid, torch.tanh, torch.relu, torch.softmax, torch.log_softmax,
# torch.logsumexp, anything in torch.special, and their F. / nn. / Tensor-method versions.


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """sigma(x) = 1 / (1 + exp(-x)), elementwise, any shape and float dtype.

    Must not overflow for |x| up to 1e4: neither the value nor its gradient may be NaN or inf.
    """
    raise NotImplementedError


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), elementwise; stable for |x| up to 1e4."""
    raise NotImplementedError


def relu(x: torch.Tensor) -> torch.Tensor:
    """relu(x) = max(x, 0), elementwise."""
    raise NotImplementedError


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """x where x > 0, negative_slope * x elsewhere."""
    raise NotImplementedError


def silu(x: torch.Tensor) -> torch.Tensor:
    """silu(x) = x * sigma(x) (also called swish); stable for |x| up to 1e4."""
    raise NotImplementedError


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), the sum taken along `dim` (negative dims too).

    Stable for entries up to 1e4 in magnitude: exp(1e4) overflows, so shift first.
    """
    raise NotImplementedError


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log_softmax(x)_i = x_i - log(sum_j exp(x_j)) along `dim`; finite for entries up to 1e4."""
    raise NotImplementedError

"""nnlab: automated exercises and grading for learning PyTorch."""
from __future__ import annotations

__version__ = "0.1.0"

"""Exercise bilstm_classifier: a bidirectional LSTM text classifier (see bilstm_classifier.md)."""
from __future__ import annotations

import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    """Embedding -> one-layer bidirectional LSTM (batch_first) -> Linear on the last hidden states.

    Args:
        vocab_size: number of token ids (embedding rows).
        embed_dim: size of each token's embedding.
        hidden_dim: hidden size of each LSTM direction.
        num_classes: number of output logits.

    Submodules (their names fix the state_dict keys):
        embedding: nn.Embedding(vocab_size, embed_dim)
        lstm: nn.LSTM(embed_dim, hidden_dim, num_layers=1, bidirectional=True, batch_first=True)
        fc: nn.Linear(2 * hidden_dim, num_classes)
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_classes: int) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T) token ids -> (B, num_classes) logits.

        logits = fc(cat([h_n[-2], h_n[-1]], dim=1)), where h_n (2, B, hidden_dim) holds the
        final hidden state of the forward direction (index -2) and of the backward one (-1).
        """
        raise NotImplementedError

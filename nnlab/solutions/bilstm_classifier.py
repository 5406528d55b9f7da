"""Reference solution for bilstm_classifier."""
from __future__ import annotations

import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    """Embedding -> one-layer bidirectional LSTM (batch_first) -> Linear on the last hidden states."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=1, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(self.embedding(x))
        # h_n: (num_layers * 2, B, H); the last layer's forward state is -2, its backward state -1
        # (the backward direction ends at the first token).
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))

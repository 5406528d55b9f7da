"""Flattens h_n with view(B, -1) without moving the direction axis: mixes up the batch."""
# nnlab-expect: test_forward_parity test_last_hidden_states test_gradients
import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, x):
        _, (h_n, _) = self.lstm(self.embedding(x))
        return self.fc(h_n.view(x.shape[0], -1))

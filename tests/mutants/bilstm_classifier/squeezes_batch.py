"""Squeezes the concatenated states: a batch of one loses its batch dimension."""
# nnlab-expect: test_batch_of_one
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
        hidden = torch.cat([h_n[0], h_n[1]], dim=-1).squeeze()
        return self.fc(hidden)

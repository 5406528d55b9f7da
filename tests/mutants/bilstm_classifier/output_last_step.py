"""Classifies output[:, -1, :]: right for the forward half, but the backward half saw one token."""
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
        output, _ = self.lstm(self.embedding(x))
        return self.fc(output[:, -1, :])

"""Forgets batch_first=True: the LSTM reads the batch dimension as time."""
# nnlab-expect: test_submodules test_forward_parity test_last_hidden_states test_gradients
import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, bidirectional=True)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, x):
        _, (h_n, _) = self.lstm(self.embedding(x))
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))

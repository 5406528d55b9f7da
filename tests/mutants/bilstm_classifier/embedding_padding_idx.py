"""Builds the embedding with padding_idx=0: same logits, but id 0 never gets a gradient (the
statement fixes nn.Embedding(vocab_size, embed_dim)); caught only where id 0 is always drawn."""
# nnlab-expect: test_gradients
import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, x):
        _, (h_n, _) = self.lstm(self.embedding(x))
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))

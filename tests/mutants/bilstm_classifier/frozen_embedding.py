"""Looks the embeddings up under no_grad ("frozen"): same logits, but embedding.weight gets no gradient."""
# nnlab-expect: test_gradients
import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * hidden_dim, num_classes)

    def forward(self, x):
        with torch.no_grad():
            embedded = self.embedding(x)
        _, (h_n, _) = self.lstm(embedded)
        return self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1))

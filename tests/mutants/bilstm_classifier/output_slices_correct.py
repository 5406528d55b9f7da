"""A correct variant written differently: the last states read from `output` (forward at T-1, backward at 0)."""
# nnlab-expect: full
import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, num_classes):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(input_size=embed_dim, hidden_size=hidden_dim, num_layers=1,
                            batch_first=True, bidirectional=True)
        self.fc = nn.Linear(hidden_dim * 2, num_classes)

    def forward(self, x):
        output, _ = self.lstm(self.embedding(x.long()))
        forward_last = output[:, -1, : self.hidden_dim]
        backward_last = output[:, 0, self.hidden_dim:]
        return self.fc(torch.cat((forward_last, backward_last), dim=-1))

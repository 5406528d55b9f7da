"""练习 bilstm_classifier：双向 LSTM 文本分类器（题目见 bilstm_classifier.md）。"""
from __future__ import annotations

import torch
from torch import nn


class BiLSTMClassifier(nn.Module):
    """Embedding -> 一层双向 LSTM（batch_first）-> 作用在最终隐藏状态上的 Linear。

    参数：
        vocab_size: token id 的个数（词嵌入矩阵的行数）。
        embed_dim: 每个 token 的词嵌入维度。
        hidden_dim: LSTM 每个方向的隐藏状态维度。
        num_classes: 输出 logits 的个数。

    子模块（它们的名字决定了 state_dict 的键）：
        embedding: nn.Embedding(vocab_size, embed_dim)
        lstm: nn.LSTM(embed_dim, hidden_dim, num_layers=1, bidirectional=True, batch_first=True)
        fc: nn.Linear(2 * hidden_dim, num_classes)
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, num_classes: int) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T) 的 token id -> (B, num_classes) 的 logits。

        logits = fc(cat([h_n[-2], h_n[-1]], dim=1))，其中 h_n 的形状为 (2, B, hidden_dim)，
        存放正向（下标 -2）和反向（-1）的最终隐藏状态。
        """
        raise NotImplementedError

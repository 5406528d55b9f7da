"""练习 attention_pooling：在时间步上做带掩码的 softmax（题目见 attention_pooling.md）。"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class AttentionPooling(nn.Module):
    """context = sum_t weights[:, t] * rnn_output[:, t]，weights = softmax_t(attention(rnn_output))。

    参数：
        hidden_dim: H，每个时间步向量的长度。

    属性：
        attention: nn.Linear(hidden_dim, 1)，给每个时间步打分。
    """

    def __init__(self, hidden_dim: int) -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, rnn_output: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """rnn_output: (B, T, H)；mask: (B, T) 布尔张量，True 表示真实时间步，或为 None。

        返回 (context (B, H), weights (B, T))。mask 为 False 的位置（填充）权重为 0；一行中没有任何 True 时，
        权重和上下文向量都为 0（函数值和梯度中都不能出现 NaN）。
        """
        raise NotImplementedError

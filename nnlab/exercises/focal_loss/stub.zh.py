"""练习 focal_loss：基于 logits 的二分类与多分类 Focal Loss（题目见 focal_loss.md）。"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """基于 logits 的二分类 Focal Loss，语义与 torchvision.ops.sigmoid_focal_loss 相同。

    对 logits x 和取值在 [0, 1] 内的目标 t（两者形状相同），逐元素计算：
        p       = sigmoid(x)
        ce      = (x, t) 的二元交叉熵，直接由 logits 计算
        p_t     = p * t + (1 - p) * (1 - t)
        loss    = ce * (1 - p_t) ** gamma
        alpha_t = alpha * t + (1 - alpha) * (1 - t)
        loss    = alpha_t * loss          （仅当 alpha >= 0 时）
    再按 reduction 为 'none' | 'mean' | 'sum' 进行规约。

    异常：
        ValueError: reduction 取其他值，或 targets 的形状与 logits 不同。
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """inputs：任意形状的 logits；targets：形状相同，取值在 [0, 1] 内。"""
        raise NotImplementedError


class MultiClassFocalLoss(nn.Module):
    """多分类 Focal Loss：每个样本的损失为 alpha * (1 - p_t) ** gamma * CE。

    inputs：形状为 (N, C) 的 logits；targets：形状为 (N,) 的类别索引（int64）。
    CE 是每个样本的交叉熵，p_t = exp(-CE) 是模型预测的目标类别概率。
    按 'none'（形状 (N,)）| 'mean' | 'sum' 规约；其他取值抛出 ValueError。
    """

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "mean") -> None:
        super().__init__()
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

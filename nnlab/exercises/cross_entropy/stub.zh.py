"""练习 cross_entropy：从零实现 NLL 和交叉熵（题目见 cross_entropy.md）。"""
from __future__ import annotations

import torch


def nll_loss(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> torch.Tensor:
    """负对数似然损失，行为与 torch.nn.functional.nll_loss 相同。

    input: (N, C) 或 (N, C, d1, ...) 的对数概率（原样使用：这里不做 softmax）。
    target: 类别索引，(N,) 或 (N, d1, ...)，取值为 [0, C) 内的整数或等于 ignore_index。
    对每个类别 y_i != ignore_index 的位置 i：
        loss_i = -weight[y_i] * input[i, y_i]        （weight 为 None 时 weight[c] = 1）
    y_i == ignore_index 的位置 loss_i = 0。
    reduction: 'none' -> 形状为 (N, d1, ...) 的 loss；'sum' -> sum(loss)；
               'mean' -> sum(loss) / sum(未被忽略位置上的 weight[y_i])。

    异常：
        ValueError: reduction 取其他值，或 target 的形状与 input 不匹配。
    """
    raise NotImplementedError


def cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """基于 logits 的交叉熵，行为与 torch.nn.functional.cross_entropy 相同。

    input: (N, C) 或 (N, C, d1, ...) 的 logits；类别在第 1 维。
    logp = log_softmax(input, dim=1)，要以数值稳定的方式计算（logits 大到 1e4 也不能上溢）。
    target 有两种形式：
      * 类别索引 (N,) / (N, d1, ...)：损失为 nll_loss(logp, target, ...)；使用标签平滑 eps 时：
            loss_i = (1 - eps) * weight[y_i] * (-logp[i, y_i])
                     + eps / C * sum_c weight[c] * (-logp[i, c])        （被忽略时为 0）
        'mean' 与 nll_loss 一样，除以未被忽略位置上的 sum(weight[y_i])；
      * 类别概率 q，一个与输入形状相同的浮点张量：
            q' = (1 - eps) * q + eps / C
            loss_i = -sum_c weight[c] * q'[i, c] * logp[i, c]
        'mean' 除以位置总数 N * d1 * ...；ignore_index 不起作用。

    异常：
        ValueError: reduction 取其他值，或 target 的形状与 input 不匹配。
    """
    raise NotImplementedError

"""Clips each parameter's gradient norm separately instead of the total norm."""
# nnlab-expect: test_gradient_clipping test_adam_classification
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            for p in model.parameters():
                torch.nn.utils.clip_grad_norm_(p, max_grad_norm)
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count

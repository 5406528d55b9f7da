"""Forgets model.train(): a model handed over in eval mode trains with frozen BatchNorm statistics."""
# nnlab-expect: test_training_mode
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    total, count = 0.0, 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count

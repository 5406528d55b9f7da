"""Skips an incomplete last batch ("drop_last" by hand): one step and three samples short."""
# nnlab-expect: test_every_batch_used test_returns_mean_loss test_per_sample_mean
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    model.train()
    total, count, full = 0.0, 0, None
    for x, y in loader:
        full = full or len(x)
        if len(x) < full:
            continue
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count

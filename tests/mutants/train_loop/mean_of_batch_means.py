"""Returns the mean of the batch losses: wrong when the last batch is smaller."""
# nnlab-expect: test_per_sample_mean test_returns_mean_loss test_adam_classification
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    model.train()
    losses = []
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)

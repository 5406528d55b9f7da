"""Never zeroes the gradients: they accumulate over the batches."""
# nnlab-expect: test_parameters_updated test_zero_grad_each_batch test_gradient_clipping test_adam_classification
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    model.train()
    total, count = 0.0, 0
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(x)
        count += len(x)
    return total / count

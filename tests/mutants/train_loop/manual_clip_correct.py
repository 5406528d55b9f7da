"""A correct variant written differently: clipping by hand (no epsilon), sums weighted by len(y), zero_grad on the model."""
# nnlab-expect: full
import torch


def train_one_epoch(model, loader, optimizer, loss_fn, max_grad_norm=None):
    model.train(True)
    seen, weighted = 0, 0.0
    for batch in loader:
        inputs, targets = batch
        model.zero_grad(set_to_none=False)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            norm = torch.sqrt(sum((g.detach() ** 2).sum() for g in grads))
            if norm > max_grad_norm:
                for g in grads:
                    g.mul_(max_grad_norm / norm)
        optimizer.step()
        weighted += float(loss.detach()) * targets.shape[0]
        seen += targets.shape[0]
    return weighted / seen

"""Loads the optimizer state into a new Adam instead of the optimizer it was given (not in place)."""
# nnlab-expect: test_optimizer_restored test_resumes_identically test_several_checkpoints
import torch


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer = torch.optim.Adam(model.parameters())
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]

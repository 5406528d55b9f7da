"""Saves named_parameters() instead of state_dict(): BatchNorm's running statistics are lost."""
# nnlab-expect: test_saved_state_dicts test_model_restored test_resumes_identically test_several_checkpoints
import torch


def save_checkpoint(path, model, optimizer, epoch):
    params = {name: p.detach().clone() for name, p in model.named_parameters()}
    torch.save({"model": params, "optimizer": optimizer.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"], strict=False)
    optimizer.load_state_dict(checkpoint["optimizer"])
    return checkpoint["epoch"]

"""Pickles the model and optimizer objects themselves: torch.load(weights_only=True) refuses the file."""
# nnlab-expect: test_file_has_keys test_weights_only_loadable test_saved_state_dicts test_epoch_is_int
import torch


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model, "optimizer": optimizer, "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=False)
    model.load_state_dict(checkpoint["model"].state_dict())
    optimizer.load_state_dict(checkpoint["optimizer"].state_dict())
    return checkpoint["epoch"]

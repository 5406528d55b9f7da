"""Saves and restores the model only: Adam's moments and step counts are lost."""
# nnlab-expect: test_file_has_keys test_weights_only_loadable test_saved_state_dicts test_optimizer_restored test_resumes_identically test_several_checkpoints
import torch


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer):
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]

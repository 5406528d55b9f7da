"""A correct variant written differently: a file object, deep copies, an extra key, pathlib, map_location=None."""
# nnlab-expect: full
import copy
import pathlib

import torch


def save_checkpoint(path, model, optimizer, epoch):
    state = {
        "format": 1,
        "epoch": int(epoch),
        "model": copy.deepcopy(model.state_dict()),
        "optimizer": copy.deepcopy(optimizer.state_dict()),
    }
    with pathlib.Path(path).open("wb") as handle:
        torch.save(state, handle)


def load_checkpoint(path, model, optimizer):
    with open(path, "rb") as handle:
        state = torch.load(handle, weights_only=True)
    model.load_state_dict(state["model"], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"])

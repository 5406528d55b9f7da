"""Confines a freshly forked grader worker with what the OS allows: namespaces, rlimits, Landlock, seccomp."""
# The steps live in their own modules (syscalls, limits, process, landlock, seccomp); steps.py
# runs them in order, probing.py measures once what they achieve on this machine.
from __future__ import annotations

from nnlab.worker.sandbox.landlock import landlock_abi, nnlab_dir
from nnlab.worker.sandbox.limits import Limits, nvidia_devices
from nnlab.worker.sandbox.probing import probe, probe_notes
from nnlab.worker.sandbox.steps import confine

# The folder Landlock hides from the worker: the whole nnlab package.
_nnlab_dir = nnlab_dir

__all__ = ["Limits", "confine", "landlock_abi", "nvidia_devices", "probe", "probe_notes"]

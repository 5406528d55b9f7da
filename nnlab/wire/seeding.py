"""Seeding torch's generators, as the worker does for each request and the grader for each check."""
from __future__ import annotations

import torch


def _accelerators_built() -> bool:
    """Whether this torch has any device besides the CPU built in (CUDA, MPS, XPU, MTIA, a
    third-party backend): their generators are seeded too, lazily, on first use."""
    mtia = getattr(torch.mtia, "_is_compiled", lambda: True)
    return bool(torch.backends.cuda.is_built() or torch.backends.mps.is_built()
                or torch.xpu._is_compiled() or mtia()
                or torch._C._get_privateuse1_backend_name() != "privateuseone")


_CPU_ONLY = not _accelerators_built()


def seed_torch(seed: int) -> None:
    """torch.manual_seed(seed), which a CPU-only torch also spends 4-5 ms on in a fresh process:
    it queues the seed for each accelerator it lacks (CUDA, XPU, MTIA), each with a traceback
    of the call, for a start that can never come. There the CPU generator is all it seeds."""
    if _CPU_ONLY:
        torch.default_generator.manual_seed(seed)
    else:
        torch.manual_seed(seed)

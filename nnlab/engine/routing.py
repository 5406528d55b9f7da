"""Which Dask workers may grade a student: GPU-timed exercises go to workers with the GPU resource."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnlab.errors import NnlabError

if TYPE_CHECKING:
    from nnlab.engine import StudentJob

GPU_RESOURCE = "GPU"
"""The Dask resource a GPU worker declares: `dask worker ADDRESS --resources GPU=1`."""

ON_GPU_WORKER = "gpu"
"""Routed to a worker that declares the GPU resource."""
ANY_WORKER = "any"
"""No check needs CUDA: whichever worker is free."""
NO_GPU_WORKER = "no-gpu-worker"
"""A check needs CUDA but the cluster has no GPU worker: any worker, timed against the CPU limit."""


def needs_gpu(job: StudentJob) -> bool:
    """Whether one of the job's exercises has checks declared to need CUDA (`[timing] device =
    "cuda"`). Timing checks run only with the hidden ones, so a public-only job never does."""
    from nnlab.grader.exercise import get_exercise

    if not job.include_hidden:
        return False
    try:
        return any(get_exercise(ex_id).gpu_checks for ex_id in job.exercise_ids)
    except NnlabError:  # an unknown exercise: the task itself says so in the student's record
        return False


def gpu_workers(client: Any) -> list[str]:
    """The addresses of the cluster's workers that declare the GPU resource, now."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    return sorted(address for address, info in workers.items()
                  if (info.get("resources") or {}).get(GPU_RESOURCE, 0) >= 1)


def placement(job: StudentJob, client: Any) -> tuple[str, dict[str, float] | None]:
    """(how the job is routed, the `resources=` for Dask's submit).

    A GPU job goes to a GPU worker only when one exists right now: Dask would otherwise keep
    it waiting for a worker that never comes.
    """
    if not needs_gpu(job):
        return ANY_WORKER, None
    if gpu_workers(client):
        return ON_GPU_WORKER, {GPU_RESOURCE: 1}
    return NO_GPU_WORKER, None

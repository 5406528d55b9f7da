"""The confined side: the worker process that runs student code, and its sandbox."""

LAZY_IMPORTS_SETTING = "NNLAB_FORKSERVER_LAZY_IMPORTS"
"""Read by the fork server at its start: "0" skips warming torch's lazy imports (see
nnlab.worker.server.warm_up). Set by nnlab for the fork servers it starts (the machine's, or a
Dask worker's own) when none of the exercises to grade needs them; unset, they are warmed."""

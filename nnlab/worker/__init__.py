"""The confined side: the worker process that runs student code, and its sandbox."""

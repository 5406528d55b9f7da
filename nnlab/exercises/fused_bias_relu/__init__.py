"""Makes the check modules importable as nnlab.exercises.fused_bias_relu.*: unique names when several
exercises are graded in one process (see the report on pytest importlib mode)."""

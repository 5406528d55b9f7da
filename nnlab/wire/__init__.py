"""The wire: what the grader and the confined worker both agree on (codec, timed loop, tracing)."""

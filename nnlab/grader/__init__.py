"""The trusted side: loading exercises, running checks, timing and scoring."""

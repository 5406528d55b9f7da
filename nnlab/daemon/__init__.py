"""The warm grader: a per-user daemon with torch preloaded that answers `nnlab check` and `submit`."""

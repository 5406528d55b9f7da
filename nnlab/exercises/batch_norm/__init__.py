"""The check files of batch_norm, as a package: unique module names in a grading process, and
helpers that test_hidden.py and test_timing.py import from test_public.py."""

"""The check files of focal_loss, as a package: unique module names in a grading process, and
helpers that test_hidden.py and test_timing.py import from test_public.py."""

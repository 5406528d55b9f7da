"""The check files of swiglu, as a package: unique module names in a grading process."""

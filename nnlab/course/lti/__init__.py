"""LTI 1.3 for the course server: registration, tool keys, launch, roster (NRPS) and grades (AGS)."""

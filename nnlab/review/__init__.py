"""Instructor review: code similarity across a class, and score adjustments."""

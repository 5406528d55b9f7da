"""Mutation testing of an exercise's checks: mutants of its solution that its checks should fail."""

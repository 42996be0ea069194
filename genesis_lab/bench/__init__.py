"""Benchmarks: the agent against plain scikit-optimize and random search."""

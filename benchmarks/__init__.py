"""Benchmarks: each module runs gridgov and its baselines in one process and prints ratios."""

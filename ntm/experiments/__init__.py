"""Experiments beyond one run: throughput and time-to-solve benchmarks, sweeps on Ray."""

"""Training: the loop, distributed data parallelism and the run-directory lock."""

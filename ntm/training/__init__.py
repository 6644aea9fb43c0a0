"""Training: the loop and its parts, distributed data parallelism and the run-directory lock."""

"""Wall-clock calls per second of the fused path on two threads: copy
evaluation at length 100 (batch 100, forward only) and a copy training pass
at batch 32 (forward and backward, no optimiser). For an A/B of two
checkouts, alternate them on a quiet machine:

    for i in 1 2 3 4 5 6; do for tree in OLD NEW; do
        PYTHONPATH=$tree python benchmarks/fused_two_threads.py $tree; done; done
"""

import sys
import time

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model, use_path


def calls_per_second(work, seconds: float = 3.0) -> float:
    work()  # builds the extension on first use
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        work()
        calls += 1
    return calls / (time.perf_counter() - started)


def main() -> None:
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    torch.set_num_threads(2)
    config, task = default_config("copy", "ntm"), tasks.get("copy")
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    use_path(model, "fused")
    long_batch = task.sample(100, np.random.default_rng(0), length=100)
    training_batch = task.sample(32, np.random.default_rng(1))
    with torch.no_grad():
        evaluation = calls_per_second(lambda: model(long_batch.inputs, lengths=long_batch.lengths))
    training = calls_per_second(
        lambda: model(training_batch.inputs, lengths=training_batch.lengths).sum().backward())
    print(f"{label} eval length 100: {100 * evaluation:.0f} seq/s   "
          f"train batch 32 forward+backward: {32 * training:.0f} seq/s   (2 threads)")


if __name__ == "__main__":
    main()

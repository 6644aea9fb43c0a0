"""Wall-clock evaluation throughput of the fused path: copy at length 100,
batch 100, forward only, on two threads (or --threads N). For an A/B of two
checkouts, alternate them on a quiet machine:

    for i in 1 2 3 4; do for tree in OLD NEW; do
        PYTHONPATH=$tree python benchmarks/eval_wall_clock.py; done; done
"""

import argparse
import time

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model, use_path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config, task = default_config("copy", "ntm"), tasks.get("copy")
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    use_path(model, "fused")
    model.eval()
    batch = task.sample(100, np.random.default_rng(0), length=100)
    with torch.no_grad():
        model(batch.inputs, lengths=batch.lengths)  # builds the extension on first use
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < args.seconds:
            model(batch.inputs, lengths=batch.lengths)
            calls += 1
    elapsed = time.perf_counter() - started
    print(f"eval length 100, batch 100, {args.threads} threads: {100 * calls / elapsed:.0f} seq/s")


if __name__ == "__main__":
    main()

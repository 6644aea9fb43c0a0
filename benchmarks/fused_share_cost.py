"""Milliseconds of one fused forward and one backward of a priority-sort
batch, at a given thread count and batch. With T threads the fused path
gives each thread its own share of the batch, so 2 threads at batch 32
should cost what one thread at batch 16 does, unless the threads slow each
other (shared cache, memory bandwidth):

    for i in 1 2; do
        python benchmarks/fused_share_cost.py --threads 1 --batch-size 16
        python benchmarks/fused_share_cost.py --threads 2 --batch-size 32; done
"""

import argparse
import time

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model, use_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default="ntm-ff", help="ntm or ntm-ff")
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config, task = default_config("priority-sort", args.model), tasks.get("priority-sort")
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    use_path(model, "fused", inference=False)
    batch = task.sample(args.batch_size, np.random.default_rng(0))
    forward = backward = 0.0
    for call in range(args.calls + 5):  # the first 5 warm up (and build the extension)
        started = time.perf_counter()
        logits = model(batch.inputs, lengths=batch.lengths)
        middle = time.perf_counter()
        logits.sum().backward()
        ended = time.perf_counter()
        if call >= 5:
            forward, backward = forward + middle - started, backward + ended - middle
    print(f"{args.model}, {args.threads} thread(s), batch {args.batch_size}: forward {1e3 * forward / args.calls:.2f} ms, "
          f"backward {1e3 * backward / args.calls:.2f} ms")


if __name__ == "__main__":
    main()

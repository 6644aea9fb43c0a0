"""Where a training step's time goes: torch.profiler over a few copy steps.

    python benchmarks/profile_step.py [--path fused|compiled|reference] [--batch-size 32] [--threads 2]
"""

import argparse
import time

import numpy as np
import torch
from torch.profiler import profile

import tasks
from ntm.config import EXECUTION_PATHS, default_config
from ntm.metrics import training_loss
from ntm.model.registry import build_model, use_path
from ntm.training.loop import draw_training_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", choices=EXECUTION_PATHS, default="fused")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = default_config("copy")
    config.train.batch_size = args.batch_size
    task = tasks.get("copy")
    model = build_model(config.model, task.input_width, task.output_width)
    use_path(model, args.path)
    optimizer = torch.optim.Adam(model.parameters(), config.train.lr)
    rng = np.random.default_rng(0)

    def step():
        batch = draw_training_batch(task, config.train, rng)
        loss = training_loss(model(batch.inputs, lengths=batch.lengths), batch.targets, batch.mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(3):  # compile and warm up
        step()
    started, steps = time.perf_counter(), 0
    while time.perf_counter() - started < args.seconds:
        step()
        steps += 1
    rate = steps * args.batch_size / (time.perf_counter() - started)
    print(f"{args.path} path, batch {args.batch_size}, {args.threads} threads: {rate:,.0f} sequences/s")
    with profile() as profiler:
        for _ in range(5):
            step()
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


if __name__ == "__main__":
    main()

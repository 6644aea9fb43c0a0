"""Forward and backward of the baselines that skip padding (the one-way
recurrent networks and the causal Transformer) on a mixed-length training
batch: the padded batch (what they ran before lengths were passed to them)
against the length groups of `ntm.model.padding`. CPU time on one thread,
medians of 5 alternating calls, each model at its default sizes on each task
(`ntm train TASK --model MODEL`):

    python benchmarks/baseline_padding.py [--models lstm,transformer] [--batch-sizes 32,64]
"""

import argparse
import time

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model


def cpu_seconds(work) -> float:
    started = time.process_time()
    work()
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="32,64")
    parser.add_argument("--tasks", default="copy,repeat-copy")
    parser.add_argument("--models", default="lstm,transformer")
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| task | model | batch | padded steps | real steps | padded (s) | skipping padding (s) | speed-up |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, model_name in ((name, model) for name in args.tasks.split(",") for model in args.models.split(",")):
        config = default_config(name, model_name)
        task = tasks.get(name)
        torch.manual_seed(0)
        model = build_model(config.model, task.input_width, task.output_width)
        for batch_size in map(int, args.batch_sizes.split(",")):
            batch = task.sample(batch_size, np.random.default_rng(0))
            scored = batch.mask.unsqueeze(-1)

            def step(lengths):
                model.zero_grad()
                (model(batch.inputs, lengths=lengths) * scored).pow(2).sum().backward()

            step(None), step(batch.lengths)  # warm up
            times = {"padded": [], "grouped": []}
            for _ in range(args.calls):
                times["padded"].append(cpu_seconds(lambda: step(None)))
                times["grouped"].append(cpu_seconds(lambda: step(batch.lengths)))
            padded, grouped = (float(np.median(times[key])) for key in ("padded", "grouped"))
            print(f"| {name} | {model_name} | {batch_size} | {batch_size * batch.steps:,} | {int(batch.lengths.sum()):,} | "
                  f"{padded:.3f} | {grouped:.3f} | {padded / grouped:.2f}x |")


if __name__ == "__main__":
    main()

"""Fine-tune a trained copy model at a small lr and a large batch, and count
its failing sequences at lengths 1-20 (500 each, eval seed 1, so not the sets
RESULTS.md reports) every few hundred steps.

    python docs/lab/copy_finetune.py checkpoints/copy-ntm --lr 1e-5 --batch-size 128 --steps 2000
    python docs/lab/copy_finetune.py checkpoints/copy-ntm --lr 3e-5 --batch-size 32 --steps 4000 --ema 0.999

With --ema it also counts for an exponential moving average of the weights
(started from the loaded ones), and gives its bit errors at length 100.

Writes nothing: a lab check for checkpoints/README.md ("Copy: where the last failures are").
"""

import argparse
import copy

import numpy as np
import torch

import ntm
from ntm.evaluation import evaluate_size
from ntm.metrics import training_loss
from ntm.model.registry import use_path


def failing_in_range(model, task, seed: int = 1, samples: int = 500) -> int:
    results = [evaluate_size(model, task, {"length": length}, samples=samples, seed=seed) for length in range(1, 21)]
    return sum(round((1 - r["seq_accuracy"]) * samples) for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=250)
    parser.add_argument("--ema", type=float, default=None, help="decay of a moving average of the weights")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = ntm.load(args.run)
    model, task = loaded.model, loaded.task
    use_path(model, "fused", inference=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, fused=True)
    rng = np.random.default_rng(42)
    average = copy.deepcopy(model) if args.ema else None
    print(f"step 0: {failing_in_range(model, task)} of 10,000 fail", flush=True)
    for step in range(1, args.steps + 1):
        model.train()
        batch = task.sample(args.batch_size, rng)
        loss = training_loss(model(batch.inputs, lengths=batch.lengths), batch.targets, batch.mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()
        if average is not None:
            with torch.no_grad():
                for mean, live in zip(average.parameters(), model.parameters()):
                    mean.lerp_(live, 1 - args.ema)
        if step % args.every == 0:
            line = f"step {step} ({step * args.batch_size:,} sequences): {failing_in_range(model, task)} of 10,000 fail"
            if average is not None:
                long = evaluate_size(average, task, {"length": 100}, samples=500, seed=1)
                line += (f"; the average: {failing_in_range(average, task)} fail, "
                         f"{long['bit_errors']:.2f} bit errors at length 100 ({long['seq_accuracy']:.3f})")
            print(line, flush=True)


if __name__ == "__main__":
    main()

"""Where a copy model's failing sequences go wrong: for each length, the
sequences with any bit error, and at which outputs their errors fall.

    python docs/lab/copy_failures.py checkpoints/copy-ntm --lengths 1-20 --seed 1

The sets are those of `ntm eval --seed SEED` (500 sequences per length).
checkpoints/README.md, "Copy: where the last failures are", reads it.
"""

import argparse
from collections import Counter

import numpy as np
import torch

import ntm


def failing_outputs(run: str, length: int, samples: int, seed: int) -> list[list[int]]:
    """For each failing sequence of this length, the output positions (0 = the first) with a wrong bit."""
    loaded = ntm.load(run)
    batch = loaded.task.sample(samples, np.random.default_rng([seed, length]), length=length)
    with torch.inference_mode():
        logits = loaded.model(batch.inputs, lengths=batch.lengths)
    wrong = ((logits > 0).float() != batch.targets).any(-1) & batch.mask.bool()  # [B, T]
    first_output = length + 1  # the inputs and the delimiter come first
    return [(torch.nonzero(row).flatten() - first_output).tolist() for row in wrong if row.any()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--lengths", default="1-20", help="FIRST-LAST")
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    first, last = (int(x) for x in args.lengths.split("-"))
    failing, kinds = 0, Counter()
    for length in range(first, last + 1):
        for outputs in failing_outputs(args.run, length, args.samples, args.seed):
            failing += 1
            kinds["wrong at the first output only" if outputs == [0] else
                  "wrong at the first two outputs only" if set(outputs) <= {0, 1} else
                  "wrong from the third output on only" if min(outputs) >= 2 else
                  "wrong at the first outputs and later ones"] += 1
    total = (last - first + 1) * args.samples
    print(f"{args.run}, lengths {first}-{last}, seed {args.seed}: {failing} of {total} sequences fail")
    for kind, count in kinds.most_common():
        print(f"  {count:5d} {kind}")


if __name__ == "__main__":
    main()

"""Where a repeat-copy model goes wrong: its bit errors per sequence in each
repeat and at the end marker, and where the read head went on one sequence.
With --cells (an LSTM controller), the cell units that drift most along the
output, as a timer would. With --write-head, where the write head is along the
output and how much of its weight falls on the stored sequence, and on the
locations nothing was written to yet.

    python docs/lab/repeat_copy_by_repeat.py checkpoints/repeat-copy-ntm --length 20 --repeats 10

checkpoints/README.md, "Repeat copy: where the LSTM controller breaks at
20 × 10", reads it.
"""

import argparse

import numpy as np
import torch

import ntm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--length", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--memory-size", type=int, default=None)
    parser.add_argument("--cells", action="store_true", help="print the controller cells that drift most")
    parser.add_argument("--write-head", action="store_true", help="print the write head's focus along the output")
    args = parser.parse_args()
    torch.set_num_threads(1)
    loaded = ntm.load(args.run)
    length, repeats = args.length, args.repeats
    batch = loaded.task.sample(args.samples, np.random.default_rng([0, length, repeats]),
                               length=length, repeats=repeats)
    loaded.model.use_path("reference")  # the trace comes from the reference path
    with torch.inference_mode():
        logits, trace = loaded.model(batch.inputs, memory_size=args.memory_size, trace=True)
    wrong = (((logits > 0).float() != batch.targets) * batch.mask.unsqueeze(-1)).sum(-1).float()  # [B, T]
    first_output = length + 1
    per_repeat = [wrong[:, first_output + r * length: first_output + (r + 1) * length].sum(1).mean().item()
                  for r in range(repeats)]
    print(f"{args.run}, {length} x {repeats}, {args.samples} sequences, memory "
          f"{args.memory_size or loaded.config.model.memory_size}")
    print("bit errors per repeat:", " ".join(f"{e:.1f}" for e in per_repeat))
    print(f"end marker: {wrong[:, -1].mean().item():.2f}")
    # The read head's focus one step behind the output it serves: a read at
    # step t feeds the output of step t + 1.
    focus = trace.read_weights[0, :, 0].argmax(-1).tolist()
    for r in range(repeats):
        start = first_output + r * length - 1
        print(f"repeat {r + 1:2d}: read head at", focus[start:start + length])
    if args.cells:
        print_drifting_cells(loaded.model, batch.inputs, first_output, args.memory_size)
    if args.write_head:
        print_write_head(trace.write_weights[0, :, 0], length, first_output)
        print_spread_write(trace.write_weights[:, :, 0], trace.memory, length)


def print_drifting_cells(model, inputs, first_output: int, memory_size: int | None, units: int = 5) -> None:
    """The mean over the batch of the top controller layer's cell state, every
    tenth output step, for the units that move most over the first 100."""
    state = model.initial_state(inputs.shape[0], memory_size)
    cells = []
    with torch.inference_mode():
        for x in inputs.transpose(0, 1):
            _, state, _ = model.step(x, state)
            cells.append(state.controller[-1].mean(0))  # (h, c) per layer: the top layer's c
    cells = torch.stack(cells)  # [T, H]
    end = min(first_output + 99, len(cells) - 1)
    drift = (cells[end] - cells[first_output]).abs()
    print("output step:", " ".join(f"{t - first_output:6d}" for t in range(first_output, len(cells), 10)))
    for unit in drift.argsort(descending=True)[:units].tolist():
        print(f"cell {unit:3d}:  ", " ".join(f"{cells[t, unit].item():6.1f}" for t in range(first_output, len(cells), 10)))


def print_write_head(weights, length: int, first_output: int) -> None:
    """On the first sequence, every 20 output steps: the write head's focus and
    its weight on the locations written while the input was read."""
    stored = sorted({int(weights[t].argmax()) for t in range(1, length + 1)})
    print(f"stored at locations {stored[0]}..{stored[-1]}")
    print("output step, write head at, its weight on the stored locations:")
    for t in range(first_output, weights.shape[0], 20):
        print(f"{t - first_output:5d} {int(weights[t].argmax()):5d} {weights[t, stored].sum().item():8.4f}")


def print_spread_write(weights, memory, length: int) -> None:
    """At the delimiter step (the repeat count's), how much of the write head's
    weight falls on locations nothing was written to yet. A constant initial
    memory makes them all equally similar to any key, so weight put there is
    spread evenly over them: what each gets depends on the memory size."""
    untouched = memory[:, length - 1].abs().amax(-1) < 1e-4  # [B, N] before the delimiter's write
    on_untouched = (weights[:, length] * untouched).sum(-1).mean().item()
    print(f"delimiter step: {on_untouched:.3f} of the write weight on the {untouched.sum(-1).float().mean().item():.0f} "
          f"locations never written (mean over the sequences)")


if __name__ == "__main__":
    main()

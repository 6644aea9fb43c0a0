"""DNC copy training throughput against the public peer, as ratios from one run.

The peer is ixaxaar/pytorch-dnc (PyPI `dnc` 1.1.0), a public PyTorch DNC.
Both sides train the same machine on copy at the sizes `ntm train copy
--model dnc` uses but the memory's (its recipe evaluates with 256
locations): an LSTM controller of 100 units in one layer, 128 memory
locations of width 20, one read head (and the DNC's one write head), inputs
of 8 bits and the delimiter, 8 outputs. Each Adam step (lr 3e-4) draws a
batch of lengths 1-20, each sequence padded to the batch's longest, and
scores the sigmoid cross-entropy of the output phase only; the gradient norm
is clipped at 50. Both run on one torch thread, ours with the fused Adam
`ntm train` steps with. The
two alternate for --rounds rounds and the medians are compared, so a machine
that speeds up or slows down mid-run moves both.

The peer, through its public API: `DNC(9, 100, rnn_type="lstm",
num_layers=1, num_hidden_layers=1, nr_cells=128, cell_size=20,
read_heads=1, batch_first=True, gpu_id=-1)`, hidden state and memory reset
for every batch (`hx=(None, None, None), reset_experience=True`), torch's
default Adam. Ours runs on each of --paths (the fused path by default, and
the reference path, its readable definition). `num_hidden_layers` is the depth of its controller LSTM (2 by
default); `num_layers` counts whole DNC layers. Its output layer is as wide
as its input (9 here), with no option for another width: the first 8 are
scored and the ninth, the delimiter's channel, is left unused. Its batches
are drawn as `tasks.get("copy").sample` draws ours, from the same seed: the
two sides train on the same sequences.

The `dnc` wheel imports and trains on torch 2.13 and numpy 2 without any
shim. It depends on `flann`, used only by its sparse models (SAM, SDNC),
so it is installed without its dependencies, in an environment of its own,
and started here as a subprocess:

    python3.11 -m venv /tmp/dncpeer/.venv
    /tmp/dncpeer/.venv/bin/pip install torch==2.13.0 numpy
    /tmp/dncpeer/.venv/bin/pip install --no-deps dnc==1.1.0
    .venv/bin/python benchmarks/against_dnc_peer.py --peer-python /tmp/dncpeer/.venv/bin/python

(Where pip cannot install it, `pip download --no-deps dnc==1.1.0`, unzip the
wheel into a folder and pass that folder as --peer-path.)

Nothing of the peer is copied into this repository; it is only run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import textwrap

from peer_timing import TIMING_LOOP, peer_rate

TASK, MODEL = "copy", "dnc"
PEER_CELLS = 128  # nr_cells below: our DNC is timed with as many locations

# Runs inside the peer's environment: times its training step for `seconds`.
# argv: peer path ("" if installed), batch size, seconds.
_PEER_TIMER = textwrap.dedent("""
    import json, sys, time
    import numpy as np, torch
    import torch.nn.functional as F
    if sys.argv[1]:
        sys.path.insert(0, sys.argv[1])
    torch.set_num_threads(1)
    from dnc import DNC
    batch_size, seconds = int(sys.argv[2]), float(sys.argv[3])
    BITS, MIN_LENGTH, MAX_LENGTH = 8, 1, 20

    def copy_batch(rng, n):
        # As tasks.get("copy").sample(n, rng): lengths first, then the bits of
        # each length in increasing order, each sequence padded to the longest.
        lengths = rng.integers(MIN_LENGTH, MAX_LENGTH + 1, size=n)
        steps = 2 * int(lengths.max()) + 1
        inputs = np.zeros((n, steps, BITS + 1), np.float32)
        targets = np.zeros((n, steps, BITS), np.float32)
        mask = np.zeros((n, steps), bool)
        for length in np.unique(lengths):
            rows = np.flatnonzero(lengths == length)
            data = rng.integers(0, 2, size=(len(rows), length, BITS)).astype(np.float32)
            inputs[rows, :length, :BITS] = data
            inputs[rows, length, BITS] = 1.0
            targets[rows, length + 1:2 * length + 1] = data
            mask[rows, length + 1:2 * length + 1] = True
        return torch.from_numpy(inputs), torch.from_numpy(targets), torch.from_numpy(mask)

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = DNC(BITS + 1, 100, rnn_type="lstm", num_layers=1, num_hidden_layers=1, nr_cells=128,
                cell_size=20, read_heads=1, batch_first=True, gpu_id=-1)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)

    def step():
        inputs, targets, mask = copy_batch(rng, batch_size)
        output, _ = model(inputs, (None, None, None), reset_experience=True)
        nats = F.binary_cross_entropy_with_logits(output[..., :BITS], targets, reduction="none").sum(-1)
        loss = (nats * mask).sum() / (mask.sum() * BITS).clamp_min(1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50.0)
        optimizer.step()

""") + TIMING_LOOP



def table(report: dict) -> str:
    threads = f"{report['ours_threads']} thread{'s' if report['ours_threads'] > 1 else ''}"
    paths = report["paths"]
    lines = ["| DNC copy training | peer (1 thread) | " + " | ".join(f"ours, {p} ({threads}) | {p} / peer"
                                                          for p in paths) + " |",
             "|---|---:|" + "---:|---:|" * len(paths)]
    for batch_size, r in report["batches"].items():
        cells = " | ".join(f"{r['ours_median'][p]:,.1f} seq/s | {r['ratio'][p]:.2f}×" for p in paths)
        lines.append(f"| batch {batch_size} | {r['peer_median']:,.1f} seq/s | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", required=True, help="a Python whose environment has torch, numpy and dnc")
    parser.add_argument("--peer-path", default="", help="a folder holding the unpacked dnc wheel, if not installed")
    parser.add_argument("--batch-sizes", default="32,1")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of our DNC (the peer runs on one)")
    parser.add_argument("--paths", default="fused,reference", help="our execution paths to time, each beside the peer")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sort-batch-size", type=int, default=32,
                        help="also time ours on priority sort at this batch, each path (the peer has no such "
                             "task; its output is as wide as its input); 0 skips it")
    parser.add_argument("--json", help="also write the report (every round, medians, ratios) to this file")
    args = parser.parse_args()

    import torch

    from ntm.experiments.bench import train_throughput
    from ntm.platform_info import machine_description

    torch.set_num_threads(args.threads)
    paths = args.paths.split(",")
    report = {"machine": machine_description(), "task": TASK, "model": MODEL, "ours_threads": args.threads,
              "peer_threads": 1, "paths": paths, "batches": {}}
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        peer, ours = [], {path: [] for path in paths}
        for _ in range(args.rounds):
            peer.append(peer_rate(args.peer_python, _PEER_TIMER, args.peer_path, batch_size, args.seconds))
            for path in paths:
                ours[path].append(train_throughput(path, batch_size, args.seconds, task_name=TASK, model_name=MODEL,
                                                   memory_size=PEER_CELLS, optimizer="adam")["seq_per_s"])
            print(f"batch {batch_size}: peer {peer[-1]:,.1f} seq/s, "
                  + ", ".join(f"{path} {ours[path][-1]:,.1f}" for path in paths), file=sys.stderr)
        peer_median = statistics.median(peer)
        medians = {path: statistics.median(rates) for path, rates in ours.items()}
        report["batches"][batch_size] = {"peer": peer, "ours": ours, "peer_median": peer_median,
                                         "ours_median": medians,
                                         "ratio": {path: m / peer_median for path, m in medians.items()}}
    if args.sort_batch_size:
        rates = {path: statistics.median(
            train_throughput(path, args.sort_batch_size, args.seconds, task_name="priority-sort",
                             model_name=MODEL, optimizer="adam")["seq_per_s"] for _ in range(args.rounds)) for path in paths}
        report["priority_sort"] = {"batch_size": args.sort_batch_size, "seq_per_s": rates}
    print(report["machine"])
    print(table(report))
    if "priority_sort" in report:
        sort = report["priority_sort"]
        print(f"priority sort, batch {sort['batch_size']}: "
              + ", ".join(f"{path} {rate:,.1f} seq/s" for path, rate in sort["seq_per_s"].items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()

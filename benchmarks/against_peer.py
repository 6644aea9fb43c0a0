"""Copy training throughput against the public peer, as ratios from one run.

The peer is loudinthecloud/pytorch-ntm, the most-used public NTM. Its copy
task is timed with its own `train_batch` (RMSProp, element-wise clipping,
its per-batch bit-error count) on one torch thread, its fastest setting.
Ours is `ntm bench`'s fused copy training step on --threads threads. The
two alternate for --rounds rounds and the medians are compared, so a machine
that speeds up or slows down mid-run moves both.

The peer is written for PyTorch 0.4 and attrs < 19.2 (`attrib(convert=...)`),
so it runs in its own environment, started here as a subprocess:

    git clone https://github.com/loudinthecloud/pytorch-ntm /tmp/peer
    python3.11 -m venv /tmp/peer/.venv
    /tmp/peer/.venv/bin/pip install torch==2.13.0 "attrs==19.1.0" numpy argcomplete
    .venv/bin/python benchmarks/against_peer.py --peer /tmp/peer --peer-python /tmp/peer/.venv/bin/python

Nothing of the peer is copied into this repository; it is only run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import textwrap

from peer_timing import TIMING_LOOP, peer_rate

# Runs inside the peer's environment: times its train_batch for `seconds`.
_PEER_TIMER = textwrap.dedent("""
    import json, random, sys, time
    import numpy as np, torch
    sys.path.insert(0, sys.argv[1])
    torch.set_num_threads(1)
    from train import train_batch
    from tasks.copytask import CopyTaskModelTraining, CopyTaskParams
    batch_size, seconds = int(sys.argv[2]), float(sys.argv[3])
    random.seed(0); np.random.seed(0); torch.manual_seed(0)
    model = CopyTaskModelTraining(params=CopyTaskParams(batch_size=batch_size, num_batches=10**9))
    batches = iter(model.dataloader)
    def step():
        _, x, y = next(batches)
        train_batch(model.net, model.criterion, model.optimizer, x, y)
""") + TIMING_LOOP



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", required=True, help="a checkout of loudinthecloud/pytorch-ntm")
    parser.add_argument("--peer-python", required=True, help="a Python with the peer's requirements")
    parser.add_argument("--batch-sizes", default="1,32")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of our fused path")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import torch

    from ntm.experiments.bench import train_throughput
    from ntm.platform_info import machine_description

    torch.set_num_threads(args.threads)
    report = {"machine": machine_description(), "ours_threads": args.threads, "peer_threads": 1, "batches": {}}
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        peer, ours = [], []
        for _ in range(args.rounds):
            peer.append(peer_rate(args.peer_python, _PEER_TIMER, args.peer, batch_size, args.seconds, cwd=args.peer))
            ours.append(train_throughput("fused", batch_size, args.seconds)["seq_per_s"])
            print(f"batch {batch_size}: peer {peer[-1]:,.1f} seq/s, ours {ours[-1]:,.1f} seq/s", file=sys.stderr)
        peer_median, ours_median = statistics.median(peer), statistics.median(ours)
        report["batches"][batch_size] = {"peer": peer, "ours": ours, "peer_median": peer_median,
                                         "ours_median": ours_median, "ratio": ours_median / peer_median}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

"""Peak resident memory of evaluating the shipped copy model at length 1,000
with 1,024 memory locations (batch 100, one call, one thread), on one path.
Run it in a fresh process per path, since the peak is the process's:

    python benchmarks/eval_peak_memory.py --path fused
    python benchmarks/eval_peak_memory.py --path reference
"""

import argparse
import resource
import time

import torch

import tasks
from ntm.api import load
from ntm.model.registry import use_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", default="fused", help="reference, compiled or fused")
    parser.add_argument("--checkpoint", default="checkpoints/copy-ntm")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load(args.checkpoint).model
    use_path(model, args.path, inference=True)
    model.eval()
    batch = tasks.get("copy").sample(100, 0, length=1000)
    started = time.perf_counter()
    with torch.no_grad():
        model(batch.inputs, lengths=batch.lengths, memory_size=1024)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"{args.path}: peak resident memory {peak_mib:.0f} MiB, the call {seconds:.1f} s")


if __name__ == "__main__":
    main()

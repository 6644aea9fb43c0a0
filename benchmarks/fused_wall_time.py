"""Wall-clock throughput of the fused path with torch's default threads, in a
fresh process, in this order: full training steps (data, forward, backward,
clipping, Adam) of the priority-sort NTM-FF and NTM at batch 32 and of copy
at batch 32, then copy evaluation at length 100. The first measurement is
the one a fresh `ntm train` would see; `ntm bench` times NTM-FF later in a
longer process. For an A/B of two checkouts, alternate them:

    for i in 1 2 3; do for tree in OLD NEW; do
        PYTHONPATH=$tree python benchmarks/fused_wall_time.py; done; done

    python benchmarks/fused_wall_time.py [--seconds 5]
"""

import argparse
import json

from ntm.experiments.bench import eval_throughput, train_throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per measurement")
    args = parser.parse_args()
    rates = {
        "priority_sort_ntm-ff_b32": train_throughput("fused", 32, args.seconds, task_name="priority-sort",
                                                     model_name="ntm-ff"),
        "priority_sort_ntm_b32": train_throughput("fused", 32, args.seconds, task_name="priority-sort",
                                                  model_name="ntm"),
        "copy_train_b32": train_throughput("fused", 32, args.seconds),
        "copy_eval_l100": eval_throughput("fused", seconds=args.seconds),
    }
    print(json.dumps({name: round(result["seq_per_s"]) for name, result in rates.items()}))


if __name__ == "__main__":
    main()

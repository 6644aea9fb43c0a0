"""GFLOP/s of the fused path's per-step product shape, Y[rows, 736] =
X[rows, 512] W[512, 736] (NTM-FF's head projection), one thread, with the
weights left in cache between calls and with a 16 MB buffer touched between
calls to evict them, as a step's memory work does:

    python benchmarks/small_batch_products.py [--rows 16]
"""

import argparse
import time

import torch


def gflops(rows: int, inner: int, cols: int, evict: bool, calls: int = 1000) -> float:
    x, w, y = torch.randn(rows, inner), torch.randn(inner, cols), torch.empty(rows, cols)
    other = torch.randn(4 << 20)
    for _ in range(20):
        torch.mm(x, w, out=y)
    spent = 0.0
    for _ in range(calls):
        if evict:
            other.mul_(1.0)
        started = time.perf_counter()
        torch.mm(x, w, out=y)
        spent += time.perf_counter() - started
    return 2 * rows * inner * cols * calls / spent / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{args.rows} x 512 by 512 x 736: {gflops(args.rows, 512, 736, False):.0f} GFLOP/s with the weights in cache, "
          f"{gflops(args.rows, 512, 736, True):.0f} with them evicted between calls")


if __name__ == "__main__":
    main()

"""GFLOP/s of the fused path's per-step product shape, Y[rows, 736] =
X[rows, 512] W[512, 736] (NTM-FF's head projection), one thread:

- `torch.mm` (the BLAS torch links), with the weights left in cache between
  calls and with a 16 MB buffer touched between calls to evict them, as a
  step's memory work does;
- the fused extension's own per-step product (`ntm/model/csrc/small_products.h`,
  AVX-512, weights packed once) and its BLAS call, each repeated on weights
  left in cache.

    python benchmarks/small_batch_products.py [--rows 16]
"""

import argparse
import time

import torch

from ntm.model import fused


def torch_mm(rows: int, inner: int, cols: int, evict: bool, calls: int = 1000) -> float:
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


def step_product(extension, products: str, rows: int, inner: int, cols: int, calls: int = 1000) -> float:
    extension.set_products(products)
    x, w = torch.randn(rows, inner), torch.randn(inner, cols)
    extension.step_product(x, w, 20)
    best = float("inf")
    for _ in range(3):  # one call packs the weights once, then repeats the product
        started = time.perf_counter()
        extension.step_product(x, w, calls)
        best = min(best, time.perf_counter() - started)
    return 2 * rows * inner * cols * calls / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    shape = (args.rows, 512, 736)
    print(f"{args.rows} x 512 by 512 x 736, one thread:")
    print(f"  torch.mm: {torch_mm(*shape, False):.0f} GFLOP/s with the weights in cache, "
          f"{torch_mm(*shape, True):.0f} with them evicted between calls")
    extension = fused.load()
    if extension is None:
        return
    before = extension.products()
    try:
        for products in extension.products_available():
            print(f"  fused extension, {products}: {step_product(extension, products, *shape):.0f} GFLOP/s "
                  "with the weights in cache")
    finally:
        extension.set_products(before)


if __name__ == "__main__":
    main()

"""Where the fused path's training step goes, and its sustained GFLOP/s
against this machine's matrix-product peak.

    python benchmarks/profile_fused.py [--batch-size 32] [--threads 1] [--steps 60] [--task priority-sort --model ntm-ff]

Times (CPU time of the calling thread, so other jobs on the machine disturb
it less than wall-clock time) the fused forward, its backward, and the rest of
a training step (data, loss, clipping, Adam), on copy with the paper's NTM
(or another task and model).
The FLOP counts are the model's arithmetic per real (unpadded) step, counted
from its sizes below; the peak is a large float32 matrix product.
"""

import argparse
import time

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.metrics import training_loss
from ntm.model import fused
from ntm.model.registry import build_model, use_path
from ntm.training.loop import build_optimizer, draw_training_batch
from small_batch_products import step_product  # benchmarks/, this script's folder


def flops_per_step(cfg, input_width: int, output_width: int) -> dict[str, float]:
    """Multiply-adds x 2 of one sample's step, forward; backward is about twice each."""
    H, R, W, N, M, L = cfg.hidden_size, cfg.read_heads, cfg.write_heads, cfg.memory_size, cfg.memory_width, cfg.layers
    controller_in = input_width + R * M
    if cfg.name == "ntm-ff":  # one tanh layer per layer, no recurrence
        gates = sum(H * (controller_in if layer == 0 else H) for layer in range(L))
    else:  # LSTM: four gates over [input, h_prev]
        gates = sum(4 * H * ((controller_in if layer == 0 else H) + H) for layer in range(L))
    projection = ((R + W) * (M + 6) + 2 * W * M) * H
    output = output_width * (H + R * M)
    products = 2 * (gates + projection + output)
    # Norms of the memory before and after the write, a dot product per head,
    # erase and add per write head, a weighted sum per read head.
    memory = 2 * N * M * (2 + (R + W) + 2 * W + R)
    return {"products": products, "memory": memory}


def matmul_peak(clock, size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    started = clock()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * size**3 * repeats / (clock() - started) / 1e9


def own_products_peak() -> float | None:
    """GFLOP/s of the fused kernel's own per-step product (small_products.h)
    on one thread, 32 x 512 by 512 x 736 with the weights in cache: its best
    case, near the FMA units' peak, which MKL does not reach on AMD."""
    extension = fused.load()
    if extension is None or "own" not in extension.products_available():
        return None
    before = extension.products()
    try:
        return step_product(extension, "own", 32, 512, 736)
    finally:
        extension.set_products(before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--task", default="copy", help="copy, or priority-sort for the paper's sort machines")
    parser.add_argument("--model", default="ntm", help="ntm or ntm-ff")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clock = time.thread_time if args.threads == 1 else time.perf_counter

    config = default_config(args.task, args.model)
    config.train.batch_size = args.batch_size
    task = tasks.get(args.task)
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    assert use_path(model, "fused") == "fused", "the fused extension did not build"
    optimizer = build_optimizer(config, model)  # as `ntm train` builds it
    rng = np.random.default_rng(0)
    spent = {"forward": 0.0, "backward": 0.0, "rest": 0.0}
    real_steps = padded_steps = sequences = 0
    for step in range(args.steps + 3):
        t0 = clock()
        batch = draw_training_batch(task, config.train, rng)
        t1 = clock()
        logits = model(batch.inputs, lengths=batch.lengths)
        t2 = clock()
        loss = training_loss(logits, batch.targets, batch.mask)
        optimizer.zero_grad(set_to_none=True)
        t3 = clock()
        loss.backward()
        t4 = clock()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.clip_grad_norm)
        optimizer.step()
        t5 = clock()
        if step < 3:
            continue
        spent["forward"] += t2 - t1
        spent["backward"] += t4 - t3
        spent["rest"] += (t1 - t0) + (t3 - t2) + (t5 - t4)
        real_steps += int(batch.lengths.sum())
        padded_steps += batch.inputs.shape[0] * batch.inputs.shape[1]
        sequences += batch.batch_size

    total = sum(spent.values())
    flops = flops_per_step(config.model, task.input_width, task.output_width)
    work = 3 * (flops["products"] + flops["memory"]) * real_steps  # forward once, backward about twice
    print(f"{args.task} {args.model}, batch {args.batch_size}, {args.threads} thread(s), {args.steps} steps: "
          f"{sequences / total:,.0f} sequences/s; real steps {real_steps / sequences:.1f} per sequence "
          f"(padded: {padded_steps / sequences:.1f})")
    for part, seconds in spent.items():
        print(f"  {part:>8}: {1e3 * seconds / args.steps:6.2f} ms per training step ({100 * seconds / total:4.1f} %)")
    print(f"  arithmetic: {flops['products'] / 1e3:.0f} kFLOP of matrix products and {flops['memory'] / 1e3:.0f} kFLOP of "
          f"memory access per sample step forward; {work / sequences / 1e6:.1f} MFLOP per sequence with the backward pass")
    kernel = spent["forward"] + spent["backward"]
    peak = matmul_peak(clock)
    print(f"  sustained: {work / total / 1e9:.1f} GFLOP/s over the whole step, {work / kernel / 1e9:.1f} GFLOP/s inside "
          f"the fused calls; matrix-product peak {peak:.0f} GFLOP/s ({args.threads} thread(s), 2048 x 2048 float32, "
          f"torch.mm)")
    own = own_products_peak()
    if own is not None:
        print(f"  the fused kernel's own products ({fused.load().products()} in use): {own:.0f} GFLOP/s per thread "
              f"on 32 x 512 by 512 x 736 with the weights in cache")


if __name__ == "__main__":
    main()

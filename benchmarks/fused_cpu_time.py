"""CPU time of the fused path on one thread: copy evaluation at length 100
(batch 100, forward only) and a copy training pass at batch 32 (forward and
backward, no optimiser). Counts this process's CPU seconds, not wall-clock,
so a busy neighbour on a shared machine moves the figure less; for an A/B of
two checkouts, alternate them:

    for i in 1 2 3 4; do for tree in OLD NEW; do
        PYTHONPATH=$tree python benchmarks/fused_cpu_time.py; done; done

With --sort: instead, forward and backward at batch 32 (or --batch-size B)
of the priority-sort NTM (LSTM 2x100, 5 heads) and NTM-FF (512 units, 8 heads).
"""

import sys
import time

import numpy as np
import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model, use_path


def per_call(work, seconds: float = 2.0) -> float:
    work()  # builds the extension on first use; warms caches
    calls, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        work()
        calls += 1
    return (time.process_time() - started) / calls


def sort_forward_backward(model_name: str, batch_size: int = 32) -> float:
    """Sequences per CPU second of a priority-sort forward + backward."""
    config, task = default_config("priority-sort", model_name), tasks.get("priority-sort")
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    use_path(model, "fused", inference=False)
    batch = task.sample(batch_size, np.random.default_rng(0))
    return batch_size / per_call(lambda: model(batch.inputs, lengths=batch.lengths).sum().backward(), seconds=3.0)


def main() -> None:
    torch.set_num_threads(1)
    if "--sort" in sys.argv[1:]:
        batch = int(sys.argv[sys.argv.index("--batch-size") + 1]) if "--batch-size" in sys.argv else 32
        print(f"priority sort batch {batch} forward+backward: NTM {sort_forward_backward('ntm', batch):.0f} seq/s, "
              f"NTM-FF {sort_forward_backward('ntm-ff', batch):.0f} seq/s   (CPU time, one thread, {torch.__version__})")
        return
    config, task = default_config("copy", "ntm"), tasks.get("copy")
    torch.manual_seed(0)
    model = build_model(config.model, task.input_width, task.output_width)
    use_path(model, "fused", inference=False)
    rng = np.random.default_rng(0)
    long_batch, training_batch = task.sample(100, rng, length=100), task.sample(32, rng)

    def evaluate():
        with torch.no_grad():
            model(long_batch.inputs, lengths=long_batch.lengths)

    def forward_backward():
        model(training_batch.inputs, lengths=training_batch.lengths).sum().backward()

    model.eval()
    evaluation = per_call(evaluate)
    model.train()
    training = per_call(forward_backward)
    print(f"eval length 100: {100 / evaluation:.0f} seq/s   train batch 32 forward+backward: {32 / training:.0f} seq/s"
          f"   (CPU time, one thread, {torch.__version__})")


if __name__ == "__main__":
    main()

"""Time one Adam update of the copy NTM's parameters: torch's per-tensor
(foreach) Adam against its fused one, alternating, median of five rounds.

    OMP_NUM_THREADS=1 python benchmarks/adam_step.py
"""

import statistics
import time

import torch

import tasks
from ntm.config import default_config
from ntm.model.registry import build_model


def time_updates(fused: bool, updates: int = 300) -> float:
    """Milliseconds per update, on random gradients."""
    torch.manual_seed(0)
    config = default_config("copy")
    task = tasks.get("copy")
    model = build_model(config.model, task.input_width, task.output_width)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4, fused=fused)
    for parameter in model.parameters():
        parameter.grad = torch.randn_like(parameter)
    for _ in range(20):
        optimizer.step()
    started = time.perf_counter()
    for _ in range(updates):
        optimizer.step()
    return (time.perf_counter() - started) / updates * 1e3


def main() -> None:
    torch.set_num_threads(1)
    rounds = {"foreach": [], "fused": []}
    for _ in range(5):
        for name in rounds:
            rounds[name].append(time_updates(fused=name == "fused"))
    for name, values in rounds.items():
        print(f"{name:8s} {statistics.median(values):.3f} ms per update (rounds: "
              + ", ".join(f"{v:.3f}" for v in values) + ")")


if __name__ == "__main__":
    main()

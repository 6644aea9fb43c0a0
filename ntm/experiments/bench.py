"""Benchmarks: training and evaluation throughput, and time to solve copy.

Not tests: they time things, so they live here and run from `ntm bench`.
Every figure is measured inside one process so paths compare as ratios.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import tasks

from ntm.config import EXECUTION_PATHS, default_config
from ntm.paper import BENCH_TASK, MANY_HEADS_TASK
from ntm.metrics import training_loss
from ntm.model import fused
from ntm.model.heap import keep_freed_memory
from ntm.model.registry import build_model, use_path
from ntm.platform_info import machine_description
from ntm.training.loop import build_optimizer, draw_training_batch, train

PATHS = EXECUTION_PATHS
# The models timed on the many-heads task: the paper's two machines there (docs/tasks.md section 5).
PRIORITY_SORT_MODELS = ("ntm", "ntm-ff")


def _model(path: str, task_name: str = BENCH_TASK, model_name: str = "ntm", seed: int = 0,
           memory_size: int | None = None):
    config = default_config(task_name, model_name)
    if memory_size:  # a size other than the recipe's, e.g. a peer's
        config.model.memory_size = memory_size
    torch.manual_seed(seed)
    task = tasks.get(task_name)
    model = build_model(config.model, task.input_width, task.output_width)
    if path == "compiled":
        # Every NTM shares NTM.step's code, and torch.compile keeps at most 8
        # versions of it; past that it silently runs eagerly, so each
        # measurement starts from an empty cache.
        torch._dynamo.reset()
    use_path(model, path)
    return config, task, model


def train_throughput(path: str, batch_size: int, seconds: float = 10.0, warmup_steps: int = 3,
                     task_name: str = BENCH_TASK, model_name: str = "ntm", memory_size: int | None = None,
                     optimizer: str | None = None) -> dict:
    """Sequences per second of full training steps (forward, backward,
    clipping, the optimiser's step) with the paper's sizes (or memory_size
    locations) and the recipe's optimiser (or `optimizer`), sequences drawn
    as in training (copy: lengths 1-20, padded per batch)."""
    config, task, model = _model(path, task_name, model_name, memory_size=memory_size)
    config.train.batch_size = batch_size
    if optimizer:
        config.train.optimizer = optimizer
    optimizer = build_optimizer(config, model)  # what `ntm train` steps with: the fused Adam where it builds
    rng = np.random.default_rng(0)

    def one_step() -> int:
        batch = draw_training_batch(task, config.train, rng)
        loss = training_loss(model(batch.inputs, lengths=batch.lengths), batch.targets, batch.mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.clip_grad_norm)
        optimizer.step()
        return batch.batch_size

    started = time.perf_counter()
    for _ in range(warmup_steps):  # includes compiling the compiled path
        one_step()
    warmup = time.perf_counter() - started
    sequences, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or sequences == 0:
        sequences += one_step()
    elapsed = time.perf_counter() - started
    return {"path": path, "task": task_name, "model": model_name, "batch_size": batch_size,
            "seq_per_s": sequences / elapsed, "warmup_s": warmup}


@torch.inference_mode()
def eval_throughput(path: str, length: int = 100, batch_size: int = 100, seconds: float = 10.0) -> dict:
    """Sequences per second of evaluation (forward only) at one length."""
    _, task, model = _model(path)
    model.eval()
    batch = task.sample(batch_size, 0, length=length)
    started = time.perf_counter()
    model(batch.inputs, lengths=batch.lengths)
    warmup = time.perf_counter() - started
    sequences, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds or sequences == 0:
        model(batch.inputs, lengths=batch.lengths)
        sequences += batch_size
    elapsed = time.perf_counter() - started
    return {"path": path, "length": length, "batch_size": batch_size, "seq_per_s": sequences / elapsed, "warmup_s": warmup}


def throughput(batch_sizes=(1, 8, 32, 128), paths=PATHS, seconds: float = 10.0, sort_batch_size: int | None = 32,
               on_result: Callable[[str, dict], None] | None = None) -> dict:
    """All of `ntm bench`: copy training at each batch size, the priority-sort
    NTM and NTM-FF at `sort_batch_size` (None skips them), and evaluation at
    length 100, each on every path in `paths`."""
    keep_freed_memory()  # as the fused path sets it on loading: every path is timed under the same allocator
    report = {"machine": machine_description(), "train": [], "priority_sort": [], "eval": []}
    if "fused" in paths and fused.available():
        report["fused_products"] = fused.load().products()  # "own" (AVX-512) or "blas": the figures depend on it

    def record(kind, result):
        report[kind].append(result)
        if on_result:
            on_result(kind, result)

    for batch_size in batch_sizes:
        for path in paths:
            record("train", train_throughput(path, batch_size, seconds))
    for model_name in PRIORITY_SORT_MODELS if sort_batch_size else ():
        for path in paths:
            record("priority_sort", train_throughput(path, sort_batch_size, seconds, task_name=MANY_HEADS_TASK,
                                                     model_name=model_name))
    for path in paths:
        record("eval", eval_throughput(path, seconds=seconds))
    report["speedups"] = _speedups(report)
    return report


def _speedups(report: dict) -> dict:
    """Each path's rate over the reference path's, and the fused path's over
    the compiled one's, per measurement: {"fused": {"train_b32": 9.1, ...}, ...}."""
    def name(kind, r):
        if kind == "train":
            return f"train_b{r['batch_size']}"
        if kind == "priority_sort":
            return f"priority_sort_{r['model']}_b{r['batch_size']}"
        return f"eval_l{r['length']}"

    rates: dict[str, dict[str, float]] = {}
    for kind in ("train", "priority_sort", "eval"):
        for r in report.get(kind, []):
            rates.setdefault(r["path"], {})[name(kind, r)] = r["seq_per_s"]
    speedups = {}
    for over, base in [(p, "reference") for p in PATHS if p != "reference"] + [("fused", "compiled")]:
        label = over if base == "reference" else f"{over}_over_{base}"
        ratios = {key: rate / rates[base][key] for key, rate in rates.get(over, {}).items() if key in rates.get(base, {})}
        if ratios:
            speedups[label] = ratios
    return speedups


SOLVE_RECORD = "solve.json"


# Sequences between validations and at most before giving up: those of 50
# and 20,000 steps at batch 32, whatever the batch.
SOLVE_VALIDATION_SEQUENCES = 1600
SOLVE_MAX_SEQUENCES = 640_000


def time_to_solve(seeds=(0, 1, 2), out_dir: Path | str = "runs/bench-solve", path: str = "fused",
                  batch_size: int | None = None, max_sequences: int = SOLVE_MAX_SEQUENCES,
                  threads: int | None = None, on_event: Callable[[str, dict], None] | None = None) -> dict:
    """Train copy with the default settings (and `batch_size` and `threads`, if given) until
    solved (the solve check, ntm.training.solve), then keep training for as
    many sequences again and record the worst validation bit errors seen
    after the first solve (a solved model must stay solved), and when it was
    consolidated, if it was. Validation comes every 1,600 sequences whatever the batch.

    Each seed's outcome is kept in out_dir/seedN/solve.json and read back on
    a later call, so seeds can run in separate processes (one per core) and a
    final call with all of them prints the summary without training again."""
    runs = []
    for seed in seeds:
        record_path = Path(out_dir) / f"seed{seed}" / SOLVE_RECORD
        if not record_path.exists():
            entry = _solve_one_seed(seed, record_path.parent, path, batch_size, max_sequences, threads, on_event)
            record_path.write_text(json.dumps(entry, indent=2) + "\n")
        runs.append(json.loads(record_path.read_text()))
    solved = [r for r in runs if r["solved"]]
    # The runs' own thread count (seeds may run one per core), not this process's.
    threads = {r.get("threads") for r in runs}
    summary = {"machine": machine_description(threads.pop() if len(threads) == 1 and None not in threads else None),
               "runs": runs, "solved": len(solved), "seeds": len(runs)}
    if solved:
        summary["median_seconds"] = statistics.median(r["seconds"] for r in solved)
        summary["median_sequences"] = statistics.median(r["sequences"] for r in solved)
        summary["worst_bit_errors_after_solve"] = max(r["worst_bit_errors_after_solve"] for r in solved)
    return summary


def _solve_one_seed(seed: int, run_dir: Path, path: str, batch_size: int | None, max_sequences: int,
                    threads: int | None, on_event) -> dict:
    config = default_config(BENCH_TASK, "ntm")
    config.train.seed = seed
    config.train.batch_size = batch_size or config.train.batch_size
    config.train.threads = config.train.threads if threads is None else threads
    config.train.steps = max(1, max_sequences // config.train.batch_size)
    config.train.stop_when_solved = True
    config.train.path = path
    config.train.validate_every = max(1, SOLVE_VALIDATION_SEQUENCES // config.train.batch_size)
    config.train.log_every = config.train.validate_every
    solve = train(config, run_dir, resume=(run_dir / "last.safetensors").exists(), on_event=on_event)
    entry = {"seed": seed, "solved": solve.solved_at is not None, "threads": torch.get_num_threads(),
             "batch_size": config.train.batch_size}
    if solve.solved_at is None:
        return entry
    entry.update(seconds=solve.solved_at["seconds"], sequences=solve.solved_at["sequences"])
    config.train.stop_when_solved = config.train.stop_when_consolidated = False
    config.train.steps = 2 * solve.solved_at["step"]
    worst = {"value": 0.0, "step": None}

    def watch(kind, data):
        if kind == "validate" and data["bit_errors"] >= worst["value"]:
            worst.update(value=data["bit_errors"], step=data["step"])
        if on_event:
            on_event(kind, data)

    final = train(config, run_dir, resume=True, on_event=watch)
    entry.update(worst_bit_errors_after_solve=worst["value"], worst_at_sequences=(worst["step"] or 0) * config.train.batch_size,
                 sequences_total=final.sequences, final_bit_errors=final.validation["bit_errors"],
                 consolidated_at=final.consolidated_at)
    return entry

"""Evaluation on fixed-seed sets of exact sizes: what `ntm eval` reports.

The set for a size is drawn from a seed made of the evaluation seed and the
size itself, so a length's figures do not depend on which other lengths were
asked for in the same run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

import tasks

from ntm import checkpoint as ckpt
from ntm.config import RunConfig
from ntm.metrics import per_sequence_bit_errors, per_sequence_cost_bits
from ntm.model.registry import build_model, use_path

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "copy-ntm"



def generalisation_sizes(task_name: str) -> list[dict[str, int]]:
    """The sizes a task is tested at when none is given (its `generalisation_sizes`)."""
    return [dict(size) for size in tasks.get(task_name).generalisation_sizes]


@dataclasses.dataclass
class LoadedModel:
    model: torch.nn.Module
    config: RunConfig
    task: tasks.Task
    checkpoint: Path  # the weights file that was loaded
    info: dict  # the checkpoint's metadata (step, sequences, validation...)

    def __iter__(self):
        """`model, config = ntm.load(run)`."""
        return iter((self.model, self.config))


def load_model(path: Path | str, which: str = "best", device: str = "cpu", execution_path: str = "fused") -> LoadedModel:
    """A trained model from a run directory (best weights by default) or a
    weights file, ready to run on `execution_path` (see NTM.use_path)."""
    run_dir, weights = ckpt.resolve_weights(Path(path), which)
    config = ckpt.load_config(run_dir)
    task = tasks.get(config.task, **config.task_options)
    model = build_model(config.model, task.input_width, task.output_width)
    loaded = ckpt.Checkpoint(weights)
    loaded.load_model(model)
    model.to(device).eval()
    use_path(model, execution_path)
    return LoadedModel(model, config, task, weights, loaded.info)


@torch.inference_mode()
def evaluate_batches(model, batches: Iterable, memory_size: int | None = None) -> dict[str, float]:
    """Mean cost_bits, bit_errors and seq_accuracy over a list of batches."""
    was_training = model.training
    model.eval()
    costs, errors = [], []
    for batch in batches:
        logits = model(batch.inputs, memory_size=memory_size, lengths=batch.lengths)
        costs.append(per_sequence_cost_bits(logits, batch.targets, batch.mask))
        errors.append(per_sequence_bit_errors(logits, batch.targets, batch.mask))
    model.train(was_training)
    cost, error = torch.cat(costs), torch.cat(errors)
    return {
        "cost_bits": cost.mean().item(),
        "bit_errors": error.mean().item(),
        "seq_accuracy": (error == 0).float().mean().item(),
    }


def result_size(task: tasks.Task, size: dict[str, int]) -> dict[str, int]:
    """A size as a result names it: the task's first size field as "length"."""
    size = task.check_size(**size)
    return {("length" if key == task.size_names[0] else key): value for key, value in size.items()}


@torch.inference_mode()  # no graph: at length 120 and 500 sequences an LSTM's would take tens of GB
def evaluate_size(
    model,
    task: tasks.Task,
    size: dict[str, int],
    samples: int = 500,
    seed: int = 0,
    batch_size: int = 100,
    memory_size: int | None = None,
    device: str | torch.device = "cpu",
) -> dict:
    """Figures for `samples` sequences of one exact size."""
    size = task.check_size(**size)
    rng = np.random.default_rng([seed, *size.values()])
    model.eval()
    costs, errors, optimal = [], [], []
    remaining = samples
    while remaining > 0:
        batch = task.sample(min(batch_size, remaining), rng, **size)
        remaining -= batch.batch_size
        logits = model(batch.inputs.to(device), memory_size=memory_size, lengths=batch.lengths).cpu()
        costs.append(per_sequence_cost_bits(logits, batch.targets, batch.mask))
        errors.append(per_sequence_bit_errors(logits, batch.targets, batch.mask))
        optimal.append(task.optimal_cost_bits(batch.targets, batch.mask))
    cost, error = torch.cat(costs), torch.cat(errors)
    result = {
        **result_size(task, size),
        "samples": samples,
        "cost_bits": cost.mean().item(),
        "bit_errors": error.mean().item(),
        "seq_accuracy": (error == 0).float().mean().item(),
        # The cost of the task's optimal predictor on the same sequences, where it has one.
        "optimal_cost_bits": None if optimal[0] is None else float(np.concatenate(optimal).mean()),
    }
    return result


def memory_warning(loaded: LoadedModel, size: dict[str, int], memory_size: int | None) -> str | None:
    """A sentence if an episode of this size needs more locations than the memory has."""
    if not loaded.config.model.has_memory:
        return None
    available = memory_size or loaded.config.model.memory_size
    needed = loaded.task.memory_needed(**loaded.task.check_size(**size))
    if needed <= available:
        return None
    return (f"{describe_size(size)} needs about {needed} memory locations but the memory has {available}; "
            f"the heads will wrap around. Try --memory-size {_round_up(needed)}")


def describe_size(size: dict[str, int]) -> str:
    """`length 20` or `length 10, repeats 20`: a size as sentences name it."""
    return ", ".join(f"{name} {value}" for name, value in size.items())


MAX_MEMORY_BYTES = 4 << 30  # one batch's NTM memory; beyond this, ask for a smaller batch


def _check_memory_fits(loaded: LoadedModel, memory_size: int | None, batch_size: int) -> None:
    if not loaded.config.model.has_memory:
        return
    locations = memory_size or loaded.config.model.memory_size
    needed = batch_size * locations * loaded.config.model.memory_width * 4
    if needed > MAX_MEMORY_BYTES:
        raise ValueError(f"a batch of {batch_size} with --memory-size {locations} needs {needed / 2**30:.1f} GiB of memory "
                         f"for the NTM alone; use a smaller --batch-size or --memory-size")


def _round_up(value: int) -> int:
    return 1 << max(int(value) - 1, 1).bit_length()


def evaluate_checkpoint(
    path: Path | str,
    sizes: list[dict[str, int]] | None = None,
    samples: int = 500,
    seed: int = 0,
    memory_size: int | None = None,
    batch_size: int = 100,
    device: str = "cpu",
    which: str = "best",
    on_size: Callable[[dict], None] | None = None,
    execution_path: str = "fused",
) -> dict:
    """The object `ntm eval --json` prints: task, model, checkpoint, memory_size
    (and memory_size_given, whether it was asked for), seed, results, warnings."""
    loaded = load_model(path, which, device, execution_path)
    if sizes is None:
        sizes = [loaded.task.complete_size()]
    if memory_size is not None and memory_size < 1:
        raise ValueError(f"--memory-size must be a positive integer, got {memory_size}")
    _check_memory_fits(loaded, memory_size, batch_size)
    results, warnings = [], []
    for size in sizes:
        warning = memory_warning(loaded, size, memory_size)
        if warning:
            warnings.append(warning)
        result = evaluate_size(loaded.model, loaded.task, size, samples, seed, batch_size, memory_size, device)
        results.append(result)
        if on_size:
            on_size(result)
    return {
        "task": loaded.config.task,
        "model": loaded.config.model.name,
        "checkpoint": str(loaded.checkpoint),
        "memory_size": (memory_size or loaded.config.model.memory_size) if loaded.config.model.has_memory else None,
        "memory_size_given": memory_size is not None,
        "seed": seed,
        "results": results,
        "warnings": warnings,
    }

"""The few functions a notebook needs, exported as `ntm.load`, `ntm.evaluate`
and friends (see `ntm/__init__.py`); each wraps the module that does the work.

    >>> import ntm
    >>> run = ntm.load("checkpoints/copy-ntm")      # run.model, run.config, run.task
    >>> ntm.evaluate(run, sizes=[20, 100], samples=100)
    [{'length': 20, 'samples': 100, 'cost_bits': ..., 'bit_errors': ..., 'seq_accuracy': ...}, ...]
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

import tasks
from ntm.evaluation import LoadedModel, evaluate_size, generalisation_sizes, load_model, memory_warning


def load(run: Path | str, which: str = "best", device: str = "cpu") -> LoadedModel:
    """The trained model of a run directory (its best weights by default) or of
    a .safetensors file, with its config and task: `model, config = ntm.load(run)`
    or `run = ntm.load(run)`, then `run.model`, `run.config`, `run.task`."""
    return load_model(run, which, device)


def evaluate(
    model: LoadedModel | torch.nn.Module | Path | str,
    sizes: list[int | dict[str, int]] | None = None,
    task: tasks.Task | str | None = None,
    samples: int = 500,
    seed: int = 0,
    batch_size: int = 100,
    memory_size: int | None = None,
    device: str = "cpu",
) -> list[dict]:
    """Figures per size, as `ntm eval --json` reports them: one dict per size
    with cost_bits, bit_errors and seq_accuracy (and the optimal estimator's
    cost for dynamic N-grams).

    `model` is a run directory, a weights file, what `load` returned, or a
    module (then `task` is needed: a task or its name). A size is an int (the
    task's natural size: copy length, associative-recall items...) or a dict
    such as {"length": 20, "repeats": 10}; by default the paper's
    generalisation sizes. A size that outgrows the memory warns.
    """
    if isinstance(model, (str, Path)):
        model = load_model(model, device=device)
    if isinstance(model, LoadedModel):
        if task is None:
            task = model.task
        for size in _as_sizes(model.task, sizes):
            warning = memory_warning(model, size, memory_size)
            if warning:
                warnings.warn(warning, stacklevel=2)
        module, task_name = model.model, model.config.task
    else:
        if task is None:
            raise ValueError("evaluating a bare model needs its task: ntm.evaluate(model, sizes, task='copy')")
        module, task_name = model, task if isinstance(task, str) else task.name
    if isinstance(task, str):
        task = tasks.get(task)
    chosen = _as_sizes(task, sizes) if sizes is not None else generalisation_sizes(task_name)
    module.to(device)
    return [evaluate_size(module, task, size, samples, seed, batch_size, memory_size, device) for size in chosen]


def _as_sizes(task: tasks.Task, sizes: list[int | dict[str, int]] | None) -> list[dict[str, int]]:
    if sizes is None:
        return generalisation_sizes(task.name)
    return [dict(size) if isinstance(size, dict) else {task.size_names[0]: size} for size in sizes]

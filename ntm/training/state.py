"""The counters a run carries across a resume, and the checkpoint that holds them.

last.safetensors keeps the weights, the optimiser state, the torch RNG state
and `Progress` (in its metadata): everything a resumed run needs to continue
exactly as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import torch

from ntm import checkpoint as ckpt


@dataclasses.dataclass
class Progress:
    """Counters that survive a resume (stored in last.safetensors' metadata)."""

    step: int = 0
    sequences: int = 0
    seconds: float = 0.0
    best_validation: float = math.inf
    skipped_steps: int = 0
    rollbacks: int = 0
    solved_at: dict | None = None
    consolidating_checks: int = 0  # solve checks in a row whose figures counted as consolidated
    relapses: int = 0  # times a solved run fell back (RELAPSE_FACTOR times the solve's bit errors) and went back to its best weights
    consolidated_at: dict | None = None  # when the solve check also found the training maximum right (ntm.training.solve)
    grad_norm_mean: float | None = None  # running mean of clipped gradient norms, for spike_clip
    best_by: str = "bit_errors"  # the validation figure best_validation measures (the task's best_by)
    stages_passed_at: list = dataclasses.field(default_factory=list)  # step, sequences, seconds as each curriculum stage was passed


def save(path: Path, model, optimizer, progress: Progress) -> None:
    info = {"progress": dataclasses.asdict(progress)}
    info["progress"]["best_validation"] = _finite_or_none(progress.best_validation)
    ckpt.save_checkpoint(path, model, optimizer, info=info, extra_tensors={"torch_rng": torch.get_rng_state()})


def restore(path: Path, model, optimizer, device) -> Progress:
    loaded = ckpt.Checkpoint(path)
    loaded.load_model(model)
    if loaded.optimizer_state is None:
        raise ckpt.CheckpointError(f"{path} has no optimiser state to resume from")
    optimizer.load_state_dict(loaded.optimizer_state)
    _move_optimizer_state(optimizer, device)
    values = dict(loaded.info["progress"])
    warmup = values.pop("warmup_solved_at", None)  # saved before curricula: one warm-up stage
    if warmup is not None:
        values["stages_passed_at"] = [warmup]
    if values.get("best_validation") is None:
        values["best_validation"] = math.inf
    if "torch_rng" in loaded.extra:
        torch.set_rng_state(loaded.extra["torch_rng"])
    return Progress(**values)


def rollback(path, model, optimizer, device, progress: Progress, emit):
    restored = restore(path, model, optimizer, device)
    # Counting the rollback changes the data seeds from here on, so the run
    # does not replay the stretch that failed.
    restored.skipped_steps, restored.rollbacks = progress.skipped_steps, progress.rollbacks + 1
    emit("rollback", {"step": restored.step, "from_step": progress.step})
    return restored


def _move_optimizer_state(optimizer, device) -> None:
    for state in optimizer.state.values():
        for key, value in state.items():
            if torch.is_tensor(value) and key != "step":
                state[key] = value.to(device)


def _finite_or_none(value: float):
    return value if math.isfinite(value) else None

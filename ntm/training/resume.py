"""What a resumed run may change, and what it may not.

A resumed run continues the weights, optimiser state and training data of the
one it resumes. Whatever those depend on cannot change; everything else (the
learning rate, the step budget, how often to validate...) may, and each such
change is recorded in the learning curve so the history stays honest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ntm import checkpoint as ckpt
from ntm.config import FLAG_FIELDS, RunConfig, flatten_config

# Fields a resume may not change, by prefix or name, and why not.
_FIXED = {
    "task": "the task is what the run learns",
    "task.": "the task and its options are what the run learns",
    "curriculum.": "the curriculum is part of what the run learns",
    "model.memory_size": "it shapes the memory the run learnt to use; to try a larger memory, "
                         "evaluate with it (ntm eval RUN --memory-size N)",
    "model.": "the checkpoint's weights have the model's shape",
    "train.seed": "it chose the initial weights and every step's training data",
    "train.optimizer": "the checkpoint holds that optimiser's state",
    "train.init_from": "the run started from those weights",
    "train.validation_seed": "best.safetensors was chosen on that validation set",
    "train.validation_samples": "best.safetensors was chosen on that validation set",
}
# Where the run stops is not part of its history: the curve itself shows how far it went.
_NOT_RECORDED = {"train.steps"}


class ResumeRefused(ckpt.CheckpointError):
    """A resume that would change what the run learns; the message names the options."""


def option_name(key: str) -> str:
    """How a user sets a config field: its dedicated flag, else --set."""
    if key == "task":
        return "the task"
    if key == "model.name":
        return "--model"
    flag = next((flag for flag, field in FLAG_FIELDS.items() if field == key), None)
    return flag or f"--set {key}"


def refusal(run_dir: Path | str, key: str, old: Any, new: Any) -> str:
    why = next(reason for prefix, reason in _FIXED.items() if key == prefix or key.startswith(prefix))
    return (f"{option_name(key)} cannot change when resuming {run_dir}: it was {_show(old)}, "
            f"not {_show(new)}; {why}. Resume without it, or start a new run with another --out")


def resume_changes(run_dir: Path | str, saved: RunConfig, wanted: RunConfig) -> dict[str, list]:
    """{field: [old, new]} for each field the resume changes and the curve
    records; raises ResumeRefused, naming every option that may not change."""
    before, after = (flatten_config(dataclasses.asdict(config)) for config in (saved, wanted))
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    fixed = [key for key in changed if any(key == p or key.startswith(p) for p in _FIXED)]
    if fixed:
        raise ResumeRefused("; ".join(refusal(run_dir, key, before.get(key), after.get(key)) for key in fixed))
    return {key: [before.get(key), after.get(key)] for key in changed if key not in _NOT_RECORDED}


def _show(value: Any) -> str:
    return "unset" if value is None else str(value)

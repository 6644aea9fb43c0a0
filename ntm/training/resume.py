"""What a resumed run may change, and what it may not.

A resumed run continues the weights, optimiser state and training data of the
one it resumes. Whatever those depend on cannot change; everything else (the
learning rate, the step budget, how often to validate...) may, and each such
change is recorded in the learning curve so the history stays honest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from ntm import checkpoint as ckpt
from ntm.config import RunConfig, flatten_config

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
    """A resume that would change what the run learns. `fields` holds (field,
    old, new) for each; the message names them as config fields, and
    `naming(option_name)` says it again in a command's own option names."""

    def __init__(self, run_dir: Path | str, fields: list[tuple[str, Any, Any]], name_of: Callable[[str], str] = str):
        self.run_dir, self.fields = run_dir, fields
        super().__init__("; ".join(_refusal(run_dir, key, old, new, name_of) for key, old, new in fields))

    def naming(self, name_of: Callable[[str], str]) -> "ResumeRefused":
        return ResumeRefused(self.run_dir, self.fields, name_of)


def _refusal(run_dir, key: str, old: Any, new: Any, name_of: Callable[[str], str]) -> str:
    why = next(reason for prefix, reason in _FIXED.items() if key == prefix or key.startswith(prefix))
    return (f"{name_of(key)} cannot change when resuming {run_dir}: it was {_show(old)}, "
            f"not {_show(new)}; {why}. Resume without it, or start a new run in another directory")


def resume_changes(run_dir: Path | str, saved: RunConfig, wanted: RunConfig) -> dict[str, list]:
    """{field: [old, new]} for each field the resume changes and the curve
    records; raises ResumeRefused, naming every field that may not change."""
    before, after = (flatten_config(dataclasses.asdict(config)) for config in (saved, wanted))
    changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    fixed = [key for key in changed if any(key == p or key.startswith(p) for p in _FIXED)]
    if fixed:
        raise ResumeRefused(run_dir, [(key, before.get(key), after.get(key)) for key in fixed])
    return {key: [before.get(key), after.get(key)] for key in changed if key not in _NOT_RECORDED}


def _show(value: Any) -> str:
    return "unset" if value is None else str(value)

"""The memory size each part of training runs with: a batch (`train.memory_size`,
or one drawn up to `train.memory_size_max`), the running validation
(`train.validation_memory_size`), and evaluation (the model's own)."""

from __future__ import annotations

import numpy as np

from ntm.config import RunConfig


def validation_memory_size(train_cfg) -> int | None:
    """The memory size the running validation runs with: `train.validation_memory_size`,
    or the training one (`training_memory_size`)."""
    return train_cfg.validation_memory_size or training_memory_size(train_cfg)


def training_memory_size(train_cfg) -> int | None:
    """The memory size training runs with (and validation, unless told
    otherwise): `train.memory_size`, or None for the model's own, the one
    evaluation uses."""
    return train_cfg.memory_size or None


def draw_training_memory_size(config: RunConfig, rng: np.random.Generator) -> int | None:
    """One training batch's memory size: `training_memory_size`, or with
    `train.memory_size_max` one drawn uniformly from the training size up to
    it. Drawn after the batch from the step's own generator, so a run without
    the option sees the same data, and a resumed run the same sizes."""
    if not config.train.memory_size_max:
        return training_memory_size(config.train)
    return int(rng.integers(config.training_memory_floor, config.train.memory_size_max + 1))

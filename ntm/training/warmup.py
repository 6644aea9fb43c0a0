"""The task a run trains on, and the easier warm-up stage it may train on first.

With `warmup_options`, a run trains on the task with those options overridden
until that stage's validation counts as solved, then on the full task.
"""

from __future__ import annotations

import numpy as np

import tasks

from ntm.config import RunConfig


class Stages:
    """The full task and the warm-up task, each with its fixed validation set."""

    def __init__(self, config: RunConfig, device):
        self.train_cfg, self.device = config.train, device
        self.task = tasks.get(config.task, **config.task_options)
        # The warm-up is the task with its options overridden, count normalisation
        # included: repeat copy's count over 1..10 tells R=1 from R=2 by only 0.35,
        # and a warm-up on 1..2 at that scale was at 3.9 bit errors after 640k
        # sequences; on its own scale (+-1) it was solved at 496k.
        self.warmup_task = None
        if config.warmup_options:
            self.warmup_task = tasks.get(config.task, **{**config.task_options, **config.warmup_options})
        self._validation = {}

    def warming_up(self, progress) -> bool:
        return self.warmup_task is not None and progress.warmup_solved_at is None

    def training_task(self, warming: bool):
        return self.warmup_task if warming else self.task

    def validation_set(self, warming: bool) -> list:
        """The fixed validation batches of the stage, drawn once."""
        if warming not in self._validation:
            self._validation[warming] = validation_set(self.training_task(warming), self.train_cfg, self.device)
        return self._validation[warming]


def validation_set(task, train_cfg, device, chunk: int = 128) -> list:
    rng = np.random.default_rng(train_cfg.validation_seed)
    batches, remaining = [], train_cfg.validation_samples
    while remaining > 0:
        size = min(chunk, remaining)
        batches.append(task.sample(size, rng).to(device))
        remaining -= size
    return batches

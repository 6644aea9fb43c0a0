"""The task a run trains on, and the easier curriculum stages it may train on first.

`config.curriculum` names task options with one value per stage, e.g.
`--set curriculum.length=5,10 --set curriculum.outputs=4,8` for priority
sort. The run trains on stage 0 until its validation bit errors per sequence
fall below `train.advance_below`, then on stage 1, and so on, then on the task
itself. Each stage is validated on its own fixed set.
"""

from __future__ import annotations

import numpy as np

import tasks

from ntm.config import RunConfig


class Curriculum:
    """The stages' tasks and the full task, each with its fixed validation set."""

    def __init__(self, config: RunConfig, device):
        self.train_cfg, self.device = config.train, device
        self.task = tasks.get(config.task, **config.task_options)
        # A stage is the task with its options overridden, count normalisation
        # included: on the full task's scale a short stage's counts differ too
        # little to tell apart (checkpoints/README.md, repeat copy).
        self.stage_tasks = [tasks.get(config.task, **options) for options in config.curriculum_stages()]
        self._validation = {}

    @property
    def final_stage(self) -> int:
        """The stage index of the task itself: the number of easier stages."""
        return len(self.stage_tasks)

    def stage(self, progress) -> int:
        return min(len(progress.stages_passed_at), self.final_stage)

    def training_task(self, stage: int):
        return self.stage_tasks[stage] if stage < self.final_stage else self.task

    def validation_set(self, stage: int) -> list:
        """The fixed validation batches of the stage, drawn once."""
        if stage not in self._validation:
            self._validation[stage] = validation_set(self.training_task(stage), self.train_cfg, self.device)
        return self._validation[stage]


def validation_set(task, train_cfg, device, chunk: int = 128) -> list:
    rng = np.random.default_rng(train_cfg.validation_seed)
    batches, remaining = [], train_cfg.validation_samples
    while remaining > 0:
        size = min(chunk, remaining)
        batches.append(task.sample(size, rng).to(device))
        remaining -= size
    return batches

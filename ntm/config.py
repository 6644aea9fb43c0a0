"""Run configuration as typed dataclasses, with each model's per-task defaults.

A run is described by a `RunConfig` (task, task options, model, training),
saved whole as `config.json` beside every run's weights. `default_config(task,
model)` is where `ntm train TASK --model MODEL` starts; `ntm.overrides` applies
`--set section.field=value` and `ntm.config_files` writes and reads the config
as JSON or TOML.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ntm.checks import check_batch_size, unknown_name

# How a model may run, the same function on each: its own torch code ("reference"),
# each step through torch.compile ("compiled"), or one C++ call per sequence
# ("fused"). A model offers the paths its registry entry lists (see NTM.use_path).
EXECUTION_PATHS = ("reference", "compiled", "fused")
LR_DECAYS = ("none", "cosine", "cosine_from_start")
SOLVED_BY = ("check", "mean")
# `--set` sections that hold task options, and the RunConfig field of each.
OPTION_SECTIONS = {"task": "task_options"}
# The sections of a config, in the order `ntm config` prints them.
SECTIONS = ("task", "curriculum", "model", "train")
# Fields that say how long, where, how fast and how often a run trains and
# reports, not what it learns (validate_every moves the lr drop after solving
# by less than one interval). Runs differing only in these are one setup: a
# legend leaves them out, and a sweep resumes a run with other values of them.
FIELDS_THAT_DO_NOT_CHANGE_LEARNING = frozenset({
    "train.steps", "train.stop_when_solved", "train.stop_when_consolidated", "train.device", "train.threads", "train.path",
    "train.log_every", "train.validate_every", "train.checkpoint_every",
})


@dataclasses.dataclass
class ModelConfig:
    name: str = "ntm"  # a name in the model registry (ntm models)
    hidden_size: int = 100  # NTM: controller units; baselines: units per layer
    layers: int = 1  # NTM: controller layers; baselines: stacked layers (paper: 3)
    read_heads: int = 1  # NTM only: the paper uses as many read as write heads
    write_heads: int = 1
    memory_size: int = 128  # N, locations; can be raised at evaluation time
    memory_width: int = 20  # M, numbers per location
    memory_init: float = 1e-6  # a small constant start learns faster than a learned or random one (Collier & Beel 2018)
    learned_memory: bool = False  # start from a learned [N, M] memory instead (see NTM.initial_memory)
    clip: float = 20.0  # controller outputs to the heads are clipped to +-clip (docs/tasks.md section 4)
    options: dict[str, Any] = dataclasses.field(default_factory=dict)  # a model from outside: its own options (docs/models.md)

    @property
    def has_memory(self) -> bool:
        """Whether the model has a memory whose size can change (its registry entry says)."""
        from ntm.model.registry import get

        return get(self.name).has_memory


@dataclasses.dataclass
class TrainConfig:
    steps: int = 20000  # optimiser steps; sequences seen = steps * batch_size
    batch_size: int = 4  # more updates per sequence than 32: copy solves in fewer sequences and less time (BENCHMARKS.md)
    same_size_batches: bool = False  # True: one sequence size per batch (less padding, faster steps)
    lr: float = 3e-4  # Adam's; each model's registry entry sets its own
    optimizer: str = "adam"  # "adam" or "rmsprop" (the paper's, momentum 0.9)
    clip_grad_norm: float = 50.0  # global-norm clipping as in Collier & Beel
    clip_grad_value: float = 0.0  # clip each gradient element to +-this first; the paper's RMSProp used 10; 0 turns it off
    spike_clip: float = 5.0  # also clip the norm to this many times its running mean; 0 turns it off
    lr_after_solve: float = 0.01  # once validation first counts as solved, the lr is multiplied by this (1 keeps it)
    lr_decay: str = "none"  # "cosine": from the first solve, the lr falls along a half cosine to 0 at `steps`; "cosine_from_start": from step 0 (tasks with no solve, or fine-tuning)
    init_from: str = ""  # a run directory (its best weights) or .safetensors file to start from instead of fresh weights: fine-tuning
    advance_below: float = 0.1  # a curriculum stage is passed once its validation bit errors per sequence fall below this
    seed: int = 0  # initial weights and training data
    device: str = "cpu"
    log_every: int = 50  # steps between learning-curve points
    validate_every: int = 250  # steps between validations on the fixed set
    validation_samples: int = 256  # size of the fixed-seed validation set
    validation_seed: int = 1234  # independent of `seed` so runs are compared on the same set
    checkpoint_every: int = 500  # steps between resumable checkpoints
    stop_when_solved: bool = False  # stop at the solve (see solved_by)
    stop_when_consolidated: bool = True  # stop once consolidated: solved, then every sequence of the solve check right twice in a row (ntm.training.solve)
    solved_by: str = "check"  # "check": under 0.1 bit errors in every band of the training range and at its maximum, on a larger fixed set; "mean": the running validation's mean alone, as before
    threads: int = 1  # torch CPU threads; 0: one per core. One is fastest for these small matrices (BENCHMARKS.md, threads)
    path: str = "fused"  # one of EXECUTION_PATHS, where the model offers it; else its reference path
    memory_size: int = 0  # memory locations while training (and validating); 0: model.memory_size, which evaluation keeps
    memory_size_max: int = 0  # 0: off; else each batch draws its memory size from memory_size up to this, so the model leans less on N
    validation_memory_size: int = 0  # memory locations the running validation uses (best weights, relapses); 0: memory_size's


@dataclasses.dataclass
class RunConfig:
    task: str = "copy"
    task_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # overrides of tasks.get
    # Easier stages trained first, in order, before the task itself: task option ->
    # one value per stage (ntm.training.curriculum). `warmup` is its one-stage form.
    curriculum: dict[str, list] = dataclasses.field(default_factory=dict)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def validate(self) -> "RunConfig":
        """Raise ValueError, naming the field, for values no run could use."""
        from ntm.model.registry import get, name_of

        m, t = self.model, self.train
        m.name = name_of(m.name)  # a class or factory from a notebook is registered by its name
        entry = get(m.name)  # an unknown model fails here, with the list of models
        for field in ("hidden_size", "layers", "read_heads", "write_heads", "memory_size", "memory_width"):
            if getattr(m, field) < 1:
                raise ValueError(f"model.{field} must be at least 1, got {getattr(m, field)}")
        for field in ("steps", "batch_size", "log_every", "validate_every", "validation_samples", "checkpoint_every"):
            if getattr(t, field) < 1:
                raise ValueError(f"train.{field} must be at least 1, got {getattr(t, field)}")
        check_batch_size(t.batch_size, "train.batch_size")
        for field in ("lr", "clip_grad_norm", "clip"):
            section = m if field == "clip" else t
            value = getattr(section, field)
            if not (value > 0 and value != float("inf")):
                raise ValueError(f"{'model' if section is m else 'train'}.{field} must be a positive number, got {value}")
        if t.optimizer not in ("adam", "rmsprop"):
            raise ValueError(f"train.optimizer must be adam or rmsprop, got {t.optimizer!r}")
        if t.clip_grad_value < 0:
            raise ValueError(f"train.clip_grad_value must be 0 (off) or positive, got {t.clip_grad_value}")
        if t.memory_size < 0:
            raise ValueError(f"train.memory_size must be 0 (the model's) or positive, got {t.memory_size}")
        if t.memory_size and not entry.has_memory:
            raise ValueError(f"train.memory_size applies to a model's memory; a {m.name} has none")
        if t.validation_memory_size < 0:
            raise ValueError("train.validation_memory_size must be 0 (the training memory size) or positive, "
                             f"got {t.validation_memory_size}")
        if t.validation_memory_size and not entry.has_memory:
            raise ValueError(f"train.validation_memory_size applies to a model's memory; a {m.name} has none")
        if t.memory_size_max and not entry.has_memory:
            raise ValueError(f"train.memory_size_max applies to a model's memory; a {m.name} has none")
        if t.memory_size_max and t.memory_size_max < self.training_memory_floor:
            raise ValueError(f"train.memory_size_max must be 0 (off) or at least the training memory size "
                             f"{self.training_memory_floor}, got {t.memory_size_max}")
        if t.spike_clip < 0:
            raise ValueError(f"train.spike_clip must be 0 (off) or positive, got {t.spike_clip}")
        if not 0 < t.lr_after_solve <= 1:
            raise ValueError(f"train.lr_after_solve must be in (0, 1], got {t.lr_after_solve}")
        refusal = entry.refusal(self.task)
        if refusal:
            raise ValueError(refusal)
        if t.solved_by not in SOLVED_BY:
            raise ValueError(f"train.solved_by must be one of {', '.join(SOLVED_BY)}, got {t.solved_by!r}")
        if t.lr_decay not in LR_DECAYS:
            raise ValueError(f"train.lr_decay must be one of {', '.join(LR_DECAYS)}, got {t.lr_decay!r}")
        if not t.advance_below > 0:
            raise ValueError(f"train.advance_below must be positive, got {t.advance_below}")
        self.curriculum_stages()
        if t.path not in EXECUTION_PATHS:
            raise ValueError(f"train.path must be one of {', '.join(EXECUTION_PATHS)}, got {t.path!r}")
        if t.threads < 0:
            raise ValueError(f"train.threads must be 0 (torch's default) or more, got {t.threads}")
        return self

    @property
    def training_memory_floor(self) -> int:
        """The memory size validation runs with, and the least a training batch
        does: `train.memory_size`, or the model's own."""
        return self.train.memory_size or self.model.memory_size

    def curriculum_stages(self) -> list[dict[str, Any]]:
        """The task options of each curriculum stage, easiest first (the task
        itself, with `task_options`, follows the last)."""
        counts = {len(values) for values in self.curriculum.values()}
        if len(counts) > 1:
            raise ValueError("every curriculum option needs one value per stage; got "
                             + ", ".join(f"{key}: {len(values)}" for key, values in self.curriculum.items()))
        stages = counts.pop() if counts else 0
        return [{**self.task_options, **{key: values[i] for key, values in self.curriculum.items()}}
                for i in range(stages)]

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        return cls(
            task=data["task"],
            task_options=dict(data.get("task_options", {})),
            curriculum=_curriculum_of(data),
            model=_build(ModelConfig, data.get("model", {})),
            train=_build(TrainConfig, _with_old_run_defaults(data.get("train", {}))),
        )


def _curriculum_of(data: dict[str, Any]) -> dict[str, list]:
    """The curriculum of a saved config; one saved before curricula existed
    had a single warm-up stage in "warmup_options"."""
    if data.get("curriculum"):
        return {key: list(values) for key, values in data["curriculum"].items()}
    return {key: [value] for key, value in data.get("warmup_options", {}).items()}


def _with_old_run_defaults(train: dict[str, Any]) -> dict[str, Any]:
    """A saved config names every field; one saved before lr_after_solve
    existed kept its lr after solving, and resuming it still does. One saved
    before `path` said `fast` (torch.compile or not), and resumes on that path.
    One saved before the solve check was solved by the validation's mean and
    never stopped once consolidated, and resumes so."""
    if "steps" in train and "lr" in train and "lr_after_solve" not in train:
        train = {**train, "lr_after_solve": 1.0}
    if "stop_when_solved" in train and "solved_by" not in train:
        train = {**train, "solved_by": "mean", "stop_when_consolidated": False}
    if "fast" in train:
        train = dict(train)
        fast = train.pop("fast")
        train.setdefault("path", "compiled" if fast else "reference")
    return train


def _build(cls, values: dict[str, Any]):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
    return cls(**values)


def default_config(task: str, model: Any = "ntm") -> RunConfig:
    """The configuration `ntm train TASK --model MODEL` starts from: the
    model's sizes, learning rate and recipe on that task, as its registry
    entry gives them (ntm.recipes). `model` is a name, or a model class or
    factory from a notebook."""
    import tasks
    from ntm.model.registry import get, name_of
    from ntm.overrides import set_field

    if task not in tasks.names():
        raise unknown_name("task", task, tasks.names())
    entry = get(name_of(model))
    config = RunConfig(task=task, model=entry.config(task), train=TrainConfig(lr=entry.lr))
    for key, value in entry.recipe(task).items():
        set_field(config, key, value)
    return config


def flatten_config(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`dataclasses.asdict(config)` as {"model.memory_size": 128, "task.max_length": 20, ...}:
    one key per field, the task options named by their `--set` section."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            section = next((name for name, field in OPTION_SECTIONS.items() if field == key), key)
            flat.update(flatten_config(value, f"{prefix}{section}."))
        else:
            flat[prefix + key] = value
    return flat

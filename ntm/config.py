"""Run configuration as typed dataclasses, with the paper's per-task defaults.

A run is described by a `RunConfig` (task, task options, model, training). The
CLI fills it from `default_config(task, model)`, its options, and
`--set section.field=value` (`build_run_config` does all three, for `ntm
train` and `ntm config` alike); the whole of it is saved as `config.json`
beside every run's weights. `format_config` and `read_config_file` write and
read it as JSON or TOML in the sections `--set` names, so a run can be written
down, shared and rerun with `ntm train --config FILE`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from tasks.base import check_batch_size, did_you_mean, unknown_name

EXECUTION_PATHS = ("reference", "compiled", "fused")  # how an NTM runs: see NTM.use_path
LR_DECAYS = ("none", "cosine", "cosine_from_start")
MODEL_NAMES = ("ntm", "ntm-ff", "lstm", "gru", "rnn", "bilstm")
MEMORY_MODELS = ("ntm", "ntm-ff")  # the NTMs; the others are recurrent baselines without a memory
# `--set` sections that hold task options, and the RunConfig field of each.
OPTION_SECTIONS = {"task": "task_options"}
# The sections of a config, in the order `ntm config` prints them.
SECTIONS = ("task", "curriculum", "model", "train")
# Fields that say how long, where, how fast and how often a run trains and
# reports, not what it learns (validate_every moves the lr drop after solving
# by less than one interval). Runs differing only in these are one setup: a
# legend leaves them out, and a sweep resumes a run with other values of them.
FIELDS_THAT_DO_NOT_CHANGE_LEARNING = frozenset({
    "train.steps", "train.stop_when_solved", "train.device", "train.threads", "train.path",
    "train.log_every", "train.validate_every", "train.checkpoint_every",
})


@dataclasses.dataclass
class ModelConfig:
    name: str = "ntm"  # one of MODEL_NAMES
    hidden_size: int = 100  # NTM: controller units; baselines: units per layer
    layers: int = 1  # NTM: controller layers; baselines: stacked layers (paper: 3)
    read_heads: int = 1  # NTM only: the paper uses as many read as write heads
    write_heads: int = 1
    memory_size: int = 128  # N, locations; can be raised at evaluation time
    memory_width: int = 20  # M, numbers per location
    memory_init: float = 1e-6  # constant start: ~2x faster than learned/random (Collier & Beel 2018)
    learned_memory: bool = False  # start from a learned [N, M] memory instead (see NTM.initial_memory)
    clip: float = 20.0  # controller outputs to the heads are clipped to +-clip (docs/tasks.md section 4)

    @property
    def has_memory(self) -> bool:
        """True for the NTMs (heads and a memory), false for the recurrent baselines."""
        return self.name in MEMORY_MODELS


@dataclasses.dataclass
class TrainConfig:
    steps: int = 20000  # optimiser steps; sequences seen = steps * batch_size (80k; copy solved at 45k-59k in three seeds)
    batch_size: int = 4  # more updates per sequence: copy solved in a fifth of the sequences and half the time of batch 32 (BENCHMARKS.md)
    same_size_batches: bool = False  # True: one sequence size per batch (less padding, faster steps)
    lr: float = 3e-4  # Adam; 1e-3 (Collier & Beel) learnt copy faster here but collapsed to chance after ~30k sequences
    optimizer: str = "adam"  # "adam" or "rmsprop" (the paper's, momentum 0.9)
    clip_grad_norm: float = 50.0  # global-norm clipping as in Collier & Beel
    clip_grad_value: float = 0.0  # clip each gradient element to +-this first; the paper's RMSProp used 10; 0 turns it off
    spike_clip: float = 5.0  # also clip the norm to this many times its running mean; 0 turns it off (see _clip_threshold)
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
    stop_when_solved: bool = False  # stop once validation bit errors < 0.1 per sequence
    threads: int = 1  # torch CPU threads; 0 leaves torch's default (one per core). One is fastest for these small matrices, and far faster on a busy machine (BENCHMARKS.md, threads)
    path: str = "fused"  # NTM execution path: reference, compiled (torch.compile per step) or fused (one C++ call per sequence); same function
    memory_size: int = 0  # NTM memory locations while training and validating; 0: model.memory_size, which evaluation keeps. A small one made copy's heads length-robust (checkpoints/README.md)
    memory_size_max: int = 0  # 0: off; else each training batch draws its memory size uniformly from memory_size (or model.memory_size) up to this, so the model leans less on N itself; validation keeps memory_size (checkpoints/README.md, repeat-copy-ntm-ff)


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
        m, t = self.model, self.train
        if m.name not in MODEL_NAMES:
            raise unknown_name("model", m.name, list(MODEL_NAMES))
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
        if t.memory_size and not m.has_memory:
            raise ValueError(f"train.memory_size applies to an NTM's memory; a {m.name} has none")
        if t.memory_size_max and not m.has_memory:
            raise ValueError(f"train.memory_size_max applies to an NTM's memory; a {m.name} has none")
        if t.memory_size_max and t.memory_size_max < self.training_memory_floor:
            raise ValueError(f"train.memory_size_max must be 0 (off) or at least the training memory size "
                             f"{self.training_memory_floor}, got {t.memory_size_max}")
        if t.spike_clip < 0:
            raise ValueError(f"train.spike_clip must be 0 (off) or positive, got {t.spike_clip}")
        if not 0 < t.lr_after_solve <= 1:
            raise ValueError(f"train.lr_after_solve must be in (0, 1], got {t.lr_after_solve}")
        if m.name == "bilstm":
            _check_bidirectional_allowed(self.task)
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


def _check_bidirectional_allowed(task_name: str) -> None:
    """A bidirectional model reads every input before emitting any output; that
    is fair only where no target is a later input of the same sequence."""
    import tasks

    if task_name in tasks.names() and tasks.get(task_name).targets_are_later_inputs:
        raise ValueError(
            f"bilstm cannot be trained on {task_name}: its targets are later inputs of the same sequence, which "
            "a backward-reading model sees before predicting them; use lstm, gru or rnn there")


def _with_old_run_defaults(train: dict[str, Any]) -> dict[str, Any]:
    """A saved config names every field; one saved before lr_after_solve
    existed kept its lr after solving, and resuming it still does. One saved
    before `path` said `fast` (torch.compile or not), and resumes on that path."""
    if "steps" in train and "lr" in train and "lr_after_solve" not in train:
        train = {**train, "lr_after_solve": 1.0}
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


# Adam learning rates (chosen at batch 32, and as good at 4 on copy): 3e-4 learns steadily where Collier & Beel's
# 1e-3 fell back to chance (README.md, "Defaults and why"; BENCHMARKS.md). The paper's
# rates were tuned for RMSProp at batch 1, so the baselines take the same.
_LEARNING_RATES = {"ntm": 3e-4, "ntm-ff": 3e-4, "lstm": 3e-4, "gru": 3e-4, "rnn": 3e-4, "bilstm": 3e-4}


def default_config(task: str, model: str = "ntm") -> RunConfig:
    """The configuration `ntm train TASK --model MODEL` starts from: the
    paper's sizes (ntm.paper) where the paper reports the task, else
    ModelConfig's defaults."""
    import tasks
    from ntm.paper import PAPER

    if task not in tasks.names():
        raise unknown_name("task", task, tasks.names())
    if model not in MODEL_NAMES:
        raise unknown_name("model", model, list(MODEL_NAMES))
    if task not in PAPER:
        return RunConfig(task=task, model=ModelConfig(name=model), train=TrainConfig(lr=_LEARNING_RATES[model]))
    sizes = PAPER[task].model_sizes
    if model in MEMORY_MODELS:
        hidden, layers, heads = sizes[model]
        model_config = ModelConfig(name=model, hidden_size=hidden, layers=layers, read_heads=heads, write_heads=heads)
    else:
        # GRU, RNN and BiLSTM baselines take the LSTM's sizes so the comparison is like for like.
        hidden, layers = sizes["lstm"]
        model_config = ModelConfig(name=model, hidden_size=hidden, layers=layers)
    return RunConfig(task=task, model=model_config, train=TrainConfig(lr=_LEARNING_RATES[model]))


def apply_overrides(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply `section.field=value` strings, e.g. `model.memory_size=256`,
    `train.clip_grad_norm=10`, `task.max_length=30`, or
    `curriculum.max_length=5,10,15` (the task option's value in each easier
    stage; `warmup.max_repeats=2` is the one-stage form). Values are parsed as
    JSON when possible (numbers, true/false, lists), else taken as strings."""
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or "." not in key:
            raise ValueError(f"--set expects section.field=value (e.g. model.memory_size=256), got {assignment!r}")
        section, field = key.split(".", 1)
        value = _parse_value(raw)
        if section in OPTION_SECTIONS:
            getattr(config, OPTION_SECTIONS[section])[field] = value
            continue
        if section in ("curriculum", "warmup"):
            config.curriculum[field] = _stage_values(raw) if section == "curriculum" else [value]
            continue
        target = {"model": config.model, "train": config.train}.get(section)
        if target is None:
            raise ValueError(f"--set section must be one of {', '.join(SECTIONS)}, got {section!r}")
        fields = {f.name: f for f in dataclasses.fields(target)}
        if field not in fields:
            raise ValueError(f"{section} has no field {field!r}; {did_you_mean(field, list(fields))}"
                             f"(its fields are {', '.join(fields)})")
        setattr(target, field, _coerce(value, type(getattr(target, field)), key))
    return config


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _stage_values(raw: str) -> list:
    """`5,10,15` or `[5, 10, 15]`: one value per curriculum stage."""
    value = _parse_value(raw)
    if isinstance(value, list):
        return value
    return [_parse_value(part.strip()) for part in raw.split(",")]


def _coerce(value: Any, kind: type, key: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{key} must be true or false, got {value!r}")
    if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str:
        return str(value)
    raise ValueError(f"{key} must be of type {kind.__name__}, got {value!r}")


# The dedicated `ntm train` flags and the config field each sets; `--set` may
# name the same field only with the same value.
FLAG_FIELDS = {
    "--steps": "train.steps", "--batch-size": "train.batch_size", "--lr": "train.lr", "--seed": "train.seed",
    "--threads": "train.threads", "--checkpoint-every": "train.checkpoint_every", "--device": "train.device",
    "--until-solved": "train.stop_when_solved", "--path": "train.path", "--model": "model.name",
    "--init-from": "train.init_from",
}


def build_run_config(task: str | None, model: str | None = None, overrides: list[str] = (),
                     flags: dict[str, Any] | None = None, base: RunConfig | None = None) -> RunConfig:
    """The configuration of a run, validated: `base` (a config file, a run
    being resumed) or else the defaults of `task` and `model`, then the
    dedicated flags (`{"--lr": 1e-3}`; None means not given), then `--set`.

    `ntm train` and `ntm config` both build their config here, so what `ntm
    config` prints is exactly what `ntm train` would run."""
    import tasks

    flags = {flag: value for flag, value in (flags or {}).items() if value is not None}
    if base is None:
        if task is None:
            raise ValueError(f"name a task to train: {', '.join(tasks.names())}")
        tasks.get(task)  # an unknown task fails here, with the list of tasks
        config = default_config(task, model or "ntm")
    else:
        config = RunConfig.from_dict(json.loads(base.to_json()))
        if task is not None and task != config.task:
            raise ValueError(f"the configuration is of the {config.task} task, not {task}")
    assignments = dict(_split_assignment(text) for text in overrides)
    for flag, value in flags.items():
        key = FLAG_FIELDS[flag]
        if key in assignments:
            section, field = key.split(".")
            given = _coerce(_parse_value(assignments[key]), type(getattr(getattr(config, section), field)), key)
            if given != value:
                raise ValueError(f"{flag} {value} and --set {key}={assignments[key]} name the same field with "
                                 "different values; give one of them")
        _set_field(config, key, value)
    apply_overrides(config, list(overrides))
    config.validate()
    tasks.get(config.task, **config.task_options)  # the task checks its own options
    for options in config.curriculum_stages():
        tasks.get(config.task, **options)  # each stage is the task with other options
    return config


def _split_assignment(text: str) -> tuple[str, str]:
    key, sep, raw = text.partition("=")
    if not sep or "." not in key:
        raise ValueError(f"--set expects section.field=value (e.g. model.memory_size=256), got {text!r}")
    return key, raw


def _set_field(config: RunConfig, key: str, value: Any) -> None:
    section, field = key.split(".")
    target = getattr(config, section)
    setattr(target, field, _coerce(value, type(getattr(target, field)), key))


# --- config files: what `ntm config` prints and `ntm train --config` reads ---

def to_sections(config: RunConfig) -> dict[str, dict[str, Any]]:
    """The config in `--set`'s sections: task (its name and every option, defaults
    included, so a reader sees what can be set), curriculum, model, train."""
    import tasks

    task_options = {**tasks.options(config.task), **config.task_options} if config.task in tasks.names() else {}
    return {"task": {"name": config.task, **task_options, **config.task_options}, "curriculum": dict(config.curriculum),
            "model": dataclasses.asdict(config.model), "train": dataclasses.asdict(config.train)}


def from_sections(data: dict[str, Any]) -> RunConfig:
    """A config from `to_sections`' layout, or from a run's config.json."""
    if not isinstance(data.get("task"), dict):
        return RunConfig.from_dict(data)
    task = dict(data["task"])
    if "name" not in task:
        raise ValueError("the [task] section needs name = \"TASK\"")
    unknown = set(data) - set(SECTIONS) - {"warmup"}
    if unknown:
        raise ValueError(f"unknown section(s) {', '.join(sorted(unknown))}; the sections are {', '.join(SECTIONS)}")
    name = task.pop("name")
    import tasks

    # `ntm config` lists every option; only those that differ from the task's
    # defaults are overrides, so a config read back saves what it changed.
    defaults = tasks.options(name) if name in tasks.names() else {}
    task = {key: value for key, value in task.items() if key not in defaults or defaults[key] != value}
    return RunConfig.from_dict({"task": name, "task_options": task, "curriculum": data.get("curriculum", {}),
                                "warmup_options": data.get("warmup", {}),
                                "model": data.get("model", {}), "train": data.get("train", {})})


def format_config(config: RunConfig, form: str = "json") -> str:
    sections = to_sections(config)
    if form == "json":
        return json.dumps(sections, indent=2)
    if form == "toml":
        return "\n".join(f"[{name}]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in values.items())
                         for name, values in sections.items())
    raise ValueError(f"the config format is json or toml, not {form!r}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float, str)) or (isinstance(value, list) and all(
            isinstance(item, (int, float, str)) and not isinstance(item, bool) for item in value)):
        return json.dumps(value)  # JSON's numbers, strings and flat lists are TOML's too
    raise ValueError(f"cannot write {value!r} as TOML; use --format json")


def read_config_file(path) -> RunConfig:
    """A config written by `ntm config` (JSON or TOML) or a run's config.json."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix == ".toml" or not text.lstrip().startswith("{"):
            data = _toml_loads(text)
        else:
            data = json.loads(text)
        return from_sections(data).validate()
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a config `ntm config` writes ({error})") from None


def _toml_loads(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("reading TOML needs Python 3.11 or the tomli package (pip install tomli); "
                             "or write the config as JSON (ntm config --format json)") from None
    return tomllib.loads(text)



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

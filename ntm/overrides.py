"""`--set section.field=value`: changes to a config, typed and checked.

`build_run_config` makes a run's whole config, for `ntm train` and `ntm
config` alike, so what `ntm config` prints is exactly what `ntm train` runs.
"""

from __future__ import annotations

import json
from typing import Any

from ntm.checks import did_you_mean
from ntm.config import OPTION_SECTIONS, SECTIONS, RunConfig, default_config
from ntm.recipes import default_model


def build_run_config(task: str | None, model: str | None = None, overrides: list[str] = (),
                     fields: dict[str, Any] | None = None, base: RunConfig | None = None) -> RunConfig:
    """The configuration of a run, validated: `base` (a config file, a run
    being resumed) or else the defaults of `task` and `model`, then `fields`
    ({"train.lr": 1e-3}; None means not given), then `--set` assignments."""
    import tasks

    if base is None:
        if task is None:
            raise ValueError(f"name a task to train: {', '.join(tasks.names())}")
        tasks.get(task)  # an unknown task fails here, with the list of tasks
        config = default_config(task, model or default_model(task))
    else:
        config = RunConfig.from_dict(json.loads(base.to_json()))
        if task is not None and task != config.task:
            raise ValueError(f"the configuration is of the {config.task} task, not {task}")
    for key, value in (fields or {}).items():
        if value is not None:
            set_field(config, key, value)
    apply_overrides(config, list(overrides))
    config.validate()
    tasks.get(config.task, **config.task_options)  # the task checks its own options
    for options in config.curriculum_stages():
        tasks.get(config.task, **options)  # each stage is the task with other options
    return config


def apply_overrides(config: RunConfig, assignments: list[str]) -> RunConfig:
    """Apply `section.field=value` strings, e.g. `model.memory_size=256`,
    `train.clip_grad_norm=10`, `task.max_length=30`, or
    `curriculum.max_length=5,10,15` (the task option's value in each easier
    stage; `warmup.max_repeats=2` is the one-stage form). Values are parsed as
    JSON when possible (numbers, true/false, lists), else taken as strings."""
    for assignment in assignments:
        key, raw = split_assignment(assignment)
        section, field = key.split(".", 1)
        if section in OPTION_SECTIONS:
            getattr(config, OPTION_SECTIONS[section])[field] = parse_value(raw)
        elif section in ("curriculum", "warmup"):
            config.curriculum[field] = _stage_values(raw) if section == "curriculum" else [parse_value(raw)]
        else:
            set_field(config, key, parse_value(raw))
    return config


def split_assignment(text: str) -> tuple[str, str]:
    """"model.memory_size=256" -> ("model.memory_size", "256")."""
    key, sep, raw = text.partition("=")
    if not sep or "." not in key:
        raise ValueError(f"--set expects section.field=value (e.g. model.memory_size=256), got {text!r}")
    return key, raw


def set_field(config: RunConfig, key: str, value: Any) -> None:
    """Set the model or train field `key` ("train.lr") to `value`, as its type.
    For a model from outside, a model key it takes as an option is its own
    option (ModelConfig.options), whatever ModelConfig's fields are called."""
    section, field = key.split(".", 1)
    if section == "model" and field != "name":
        from ntm.model import external
        from ntm.model.registry import get

        entry = get(config.model.name)
        if entry.model_class is not None and (field in external.options_of(entry.model_class)
                                              or field not in vars(config.model)):
            config.model.options[field] = entry.check_option(field, value)
            return
    setattr(_section(config, section), field, typed_value(config, key, value))


def typed_value(config: RunConfig, key: str, value: Any) -> Any:
    """`value` as the type of the model or train field `key`, or an error naming it."""
    section, field = key.split(".", 1)
    target = _section(config, section)
    known = list(vars(target))
    if field not in known:
        raise ValueError(f"{section} has no field {field!r}; {did_you_mean(field, known)}"
                         f"(its fields are {', '.join(known)})")
    return coerce(value, type(getattr(target, field)), key)


def parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _section(config: RunConfig, section: str):
    target = {"model": config.model, "train": config.train}.get(section)
    if target is None:
        raise ValueError(f"--set section must be one of {', '.join(SECTIONS)}, got {section!r}")
    return target


def _stage_values(raw: str) -> list:
    """`5,10,15` or `[5, 10, 15]`: one value per curriculum stage."""
    value = parse_value(raw)
    if isinstance(value, list):
        return value
    return [parse_value(part.strip()) for part in raw.split(",")]


def coerce(value: Any, kind: type, key: str) -> Any:
    """`value` as a `kind` (an int for a float is fine), or an error naming `key`."""
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

"""Config files: what `ntm config` prints and `ntm train --config` reads.

A config is written in the sections `--set` names (task, curriculum, model,
train), as JSON or TOML, so a run can be written down, shared and rerun.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ntm.config import SECTIONS, RunConfig


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
    if isinstance(value, dict):  # a model's own options: an inline table
        return "{" + ", ".join(f"{json.dumps(key)} = {_toml_value(item)}" for key, item in value.items()) + "}"
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

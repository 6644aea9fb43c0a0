"""The dedicated `ntm train` flags and the config field each sets.

`--set` may name the same field as a flag only with the same value; messages
about a config field name the option a user sets it with.
"""

from __future__ import annotations

from typing import Any

from ntm.config import RunConfig
from ntm.overrides import parse_value, split_assignment, typed_value

FLAG_FIELDS = {
    "--steps": "train.steps", "--batch-size": "train.batch_size", "--lr": "train.lr", "--seed": "train.seed",
    "--threads": "train.threads", "--checkpoint-every": "train.checkpoint_every", "--device": "train.device",
    "--until-solved": "train.stop_when_solved", "--path": "train.path", "--model": "model.name",
    "--init-from": "train.init_from",
}


def option_name(key: str) -> str:
    """How a user sets a config field: its dedicated flag, else --set."""
    if key == "task":
        return "the task"
    flag = next((flag for flag, field in FLAG_FIELDS.items() if field == key), None)
    return flag or f"--set {key}"


def fields_from_flags(flags: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """{config field: value} of the flags given (None: not given); a flag and
    a --set of the same field with different values is an error naming both."""
    assignments = dict(split_assignment(text) for text in overrides)
    fields = {}
    for flag, value in flags.items():
        if value is None:
            continue
        key = FLAG_FIELDS[flag]
        if key in assignments:
            given = typed_value(RunConfig(), key, parse_value(assignments[key]))
            if given != value:
                raise ValueError(f"{flag} {value} and --set {key}={assignments[key]} name the same field with "
                                 "different values; give one of them")
        fields[key] = value
    return fields

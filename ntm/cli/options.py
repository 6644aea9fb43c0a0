"""Checks of option values that several commands share; each error names the option."""

from __future__ import annotations

import tasks
from ntm.checks import did_you_mean
from ntm.devices import check_device
from ntm.model import registry

__all__ = ["LENGTH_HELP", "MODEL_HELP", "SIZE_HELP", "check_device", "check_training_threads", "parse_ints", "parse_size_fields", "positive"]

MODEL_HELP = f"Model: {', '.join(registry.names())} (default ntm, the paper's NTM with an LSTM controller; on copy ntm-ff, see `ntm train --help`; `ntm models` describes each)."


def positive(option: str, value: int) -> int:
    if value < 1:
        raise ValueError(f"{option} must be a positive integer, got {value}")
    return value


def check_training_threads(threads: int | None) -> None:
    """A --threads option of a command that trains: None keeps the config's, 0 takes one per core."""
    if threads is not None and threads < 0:
        raise ValueError(f"--threads must be 0 (one per core) or more, got {threads}")


def parse_ints(option: str, text: str) -> list[int]:
    """"10,20,50" -> [10, 20, 50]: at least one, each a positive whole number."""
    values = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            value = int(item)
        except ValueError:
            raise ValueError(f"{option} takes whole numbers separated by commas, got {item!r}") from None
        if value < 1:
            raise ValueError(f"{option} must be positive integers, got {value}")
        values.append(value)
    if not values:
        raise ValueError(f"{option} needs at least one number, e.g. {option} 10,20,50")
    return values


THREADS_FOR_EVALUATION_HELP = ("Torch CPU threads (default: torch's, one per core). Use 1 while anything else runs "
                               "on the machine: two threads on two busy cores run many times slower than one.")


def set_threads(threads: int | None) -> None:
    """Apply a --threads option of a command that evaluates: None keeps torch's default."""
    if threads is None:
        return
    if threads < 1:
        raise ValueError(f"--threads must be at least 1, got {threads}")
    import torch

    torch.set_num_threads(threads)



LENGTH_HELP = ("Evaluate at this value of the task's first size: "
               + ", ".join(f"{name} {tasks.get(name).size_names[0]}" for name in tasks.names()) + ".")
SIZE_HELP = ("A size field of the task as NAME=VALUE, e.g. --size repeats=20; repeatable. The fields: "
             + "; ".join(f"{name}: {', '.join(tasks.get(name).size_names)}" for name in tasks.names()) + ".")


def parse_size_fields(task, items: list[str]) -> dict[str, int]:
    """`["repeats=20"]` -> {"repeats": 20}: each a size field of `task`, each a positive whole number."""
    fields = {}
    for item in items:
        key, sep, raw = (part.strip() for part in item.partition("="))
        if not sep:
            raise ValueError(f"--size takes NAME=VALUE, e.g. --size {task.size_names[-1]}=20; got {item!r}")
        if key not in task.size_names:
            raise ValueError(f"{task.name} has no size {key!r}; {did_you_mean(key, list(task.size_names))}"
                             f"(its sizes are {', '.join(task.size_names)})")
        values = parse_ints(f"--size {key}", raw)
        if len(values) != 1:
            raise ValueError(f"--size {key} takes one number, got {raw!r}")
        fields[key] = values[0]
    return fields

"""The five algorithmic tasks of Graves et al. (2014) behind one registry.

    >>> import tasks
    >>> task = tasks.get("copy", max_length=30)
    >>> batch = task.sample(32, rng=0)            # training distribution
    >>> batch = task.sample(8, rng=0, length=100)  # one exact size

Adding a task: one module defining a `Task` dataclass (its facts, such as its
training range and generalisation sizes, are members of the class), one line
in `_REGISTRY` below and, if the paper reports the task, one entry in
`ntm.paper.PAPER` (its model sizes, figures and targets). `register` does the
registry line's job at run time, e.g. for a task defined in a notebook.
"""

from __future__ import annotations

import dataclasses

from ntm.checks import did_you_mean, unknown_name

from .associative_recall import AssociativeRecallTask
from .base import Batch, Task, as_generator
from .copy import CopyTask
from .dynamic_ngrams import DynamicNGramsTask
from .priority_sort import PrioritySortTask
from .repeat_copy import RepeatCopyTask

_REGISTRY: dict[str, type[Task]] = {
    "copy": CopyTask,
    "repeat-copy": RepeatCopyTask,
    "associative-recall": AssociativeRecallTask,
    "dynamic-ngrams": DynamicNGramsTask,
    "priority-sort": PrioritySortTask,
}

__all__ = ["Batch", "Task", "as_generator", "get", "names", "options", "register"]


def register(cls: type[Task]) -> type[Task]:
    """Add a task class under its `name`; usable as a class decorator."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"a task named {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def names() -> list[str]:
    """The registered task names, in the paper's order."""
    return list(_REGISTRY)


def options(name: str) -> dict[str, object]:
    """The overridable fields of a task and their defaults."""
    cls = _lookup(name)
    return {f.name: f.default for f in dataclasses.fields(cls)}


def get(name: str, **overrides) -> Task:
    """The task `name` with the paper's defaults, changed by `overrides`."""
    cls = _lookup(name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for option, value in overrides.items():
        if option not in fields:
            raise ValueError(f"task {name!r} has no option {option}; {did_you_mean(option, list(fields))}"
                             f"(its options are {', '.join(fields)})")
        overrides[option] = _typed(name, option, value, fields[option].default)
    return cls(**overrides)


def _typed(task: str, option: str, value, default):
    """`value` as the type of the option's default: a whole number for an int
    option (3.0 is 3), any number for a float; else an error naming both."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        kind = "true or false"
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        kind = "an integer"
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        kind = "a number"
    else:
        return value
    raise ValueError(f"task {task!r}: {option} must be {kind}, got {value!r}")


def _lookup(name: str) -> type[Task]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise unknown_name("task", name, list(_REGISTRY)) from None

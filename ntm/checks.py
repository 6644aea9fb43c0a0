"""Checks shared by the tasks, the configuration and the commands: a name
among choices, and a batch size. Each error says what was wrong and what to do."""

from __future__ import annotations

import difflib

# The most sequences one batch may hold: an NTM's memory alone is
# batch x 128 x 20 floats per step, about 0.7 GB at this bound.
MAX_BATCH_SIZE = 65_536


def did_you_mean(name: object, choices: list[str]) -> str:
    """"did you mean copy? " for the choice closest to a mistyped name (case
    aside: LSTM finds lstm), or "" if none is close."""
    by_folded = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(str(name).lower(), list(by_folded), n=1, cutoff=0.6)
    return f"did you mean {by_folded[close[0]]}? " if close else ""


def unknown_name(kind: str, name: object, choices: list[str]) -> ValueError:
    """The error for a name that is not among `choices`, suggesting the closest
    one: "unknown task 'cpy'; did you mean copy? (the tasks are copy, ...)"."""
    hint = did_you_mean(name, choices)
    return ValueError(f"unknown {kind} {name!r}; {hint}(the {kind}s are {', '.join(choices)})" if hint
                      else f"unknown {kind} {name!r} (the {kind}s are {', '.join(choices)})")


def check_batch_size(batch_size, name: str = "batch_size") -> int:
    """A positive whole number of sequences no larger than MAX_BATCH_SIZE;
    `name` is what the user typed it as (e.g. --batch-size)."""
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"{name} must be a positive integer, got {batch_size!r}")
    if batch_size > MAX_BATCH_SIZE:
        raise ValueError(f"{name} {batch_size:,} is more sequences than one batch can hold here (at most "
                         f"{MAX_BATCH_SIZE:,}); to see more sequences, take more steps")
    return int(batch_size)

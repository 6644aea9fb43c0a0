"""The task contract (docs/tasks.md section 1): a task draws batches of (inputs, targets, mask).

A concrete task is a dataclass whose fields describe its training distribution
(so `tasks.get("copy", max_length=30)` is just `CopyTask(max_length=30)`). It
implements two things:

- `draw_sizes(rng, n)`: the sizes of n sequences from the training distribution,
  as a dict of integer arrays (one entry per size argument, e.g. {"length": [...]}).
- `generate(rng, n, **size)`: n sequences of one exact size, as NumPy arrays
  inputs [n, T, input_width], targets [n, T, output_width], mask [n, T].

`sample` (shared here) turns those into a padded `Batch`. Sequences of different
sizes share a batch: each is padded at the end with zero steps whose mask is
false. Padding at the end is harmless because every model is causal.
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import ClassVar

import numpy as np
import torch


@dataclasses.dataclass
class Batch:
    """One batch of episodes. All tensors share the time axis T."""

    inputs: torch.Tensor  # [B, T, input_width] float32
    targets: torch.Tensor  # [B, T, output_width] float32
    mask: torch.Tensor  # [B, T] bool, true on the scored steps

    @property
    def batch_size(self) -> int:
        return self.inputs.shape[0]

    @property
    def steps(self) -> int:
        return self.inputs.shape[1]

    def to(self, device: torch.device | str) -> "Batch":
        return Batch(self.inputs.to(device), self.targets.to(device), self.mask.to(device))


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Accept a Generator (used as is, so its state advances) or an int seed."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator or an int seed, not {type(rng).__name__}")


# Sizes past this would need gigabytes for one batch of inputs; a typo such as
# --length 1000000000 gets an explanation instead of an out-of-memory crash.
MAX_SIZE = 100_000
# The same for the sequences of one batch: an NTM's memory alone is
# batch x 128 x 20 floats per step, about 0.7 GB at this bound.
MAX_BATCH_SIZE = 65_536


def check_batch_size(batch_size, name: str = "batch_size") -> int:
    """A positive whole number of sequences no larger than MAX_BATCH_SIZE;
    `name` is what the user typed it as (e.g. --batch-size)."""
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"{name} must be a positive integer, got {batch_size!r}")
    if batch_size > MAX_BATCH_SIZE:
        raise ValueError(f"{name} {batch_size:,} is more sequences than one batch can hold here (at most "
                         f"{MAX_BATCH_SIZE:,}); to see more sequences, take more steps")
    return int(batch_size)


def unknown_name(kind: str, name: object, choices: list[str]) -> ValueError:
    """The error for a name that is not among `choices`, suggesting the closest
    one: "unknown task 'cpy'; did you mean copy? (the tasks are copy, ...)"."""
    return ValueError(f"unknown {kind} {name!r}; {did_you_mean(name, choices)}(the {kind}s are {', '.join(choices)})")


def did_you_mean(name: object, choices: list[str]) -> str:
    """"did you mean copy? " for the choice closest to a mistyped name, or "" if none is close."""
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]}? " if close else ""


class Task:
    """Base class of the five paper tasks; see the module docstring."""

    name: ClassVar[str]
    input_width: ClassVar[int]
    output_width: ClassVar[int]
    # Names of the size arguments `sample` accepts, the first being the one
    # that `ntm eval --length` sets (the task's natural size).
    size_names: ClassVar[tuple[str, ...]]
    # The validation figure training keeps the best weights by. Bit errors
    # fit tasks with one right answer; a task whose targets are random draws
    # (dynamic N-grams) is judged by its cost instead.
    best_by: ClassVar[str] = "bit_errors"
    # True where a target is an input that comes later in the same sequence
    # (predicting the next bit): a model reading the input backwards would
    # see the answer, so bidirectional baselines are refused there.
    targets_are_later_inputs: ClassVar[bool] = False

    def draw_sizes(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def require_range(self, low: str, high: str, floor: int = 1, why: str = "") -> None:
        """Field validation for __post_init__: floor <= self.low <= self.high."""
        low_value, high_value = getattr(self, low), getattr(self, high)
        if not floor <= low_value <= high_value:
            raise ValueError(f"{self.name}: need {floor} <= {low} <= {high}{why}, got {low}={low_value}, {high}={high_value}")

    def require_width(self, expected: int) -> None:
        """The `width` field exists for documentation; the channel layout fixes it."""
        if self.width != expected:
            raise ValueError(f"{self.name}: width is fixed at {expected} by the channel layout, got {self.width}")

    def generate(self, rng: np.random.Generator, n: int, **size: int):
        raise NotImplementedError

    def default_size(self, **size: int) -> dict[str, int]:
        """Complete a partial size (e.g. only `length` of repeat copy) with
        training-typical values for the missing arguments."""
        return dict(size)

    def memory_needed(self, **size: int) -> int:
        """Memory locations an NTM needs to hold one episode of this size."""
        raise NotImplementedError

    def check_size(self, **size: int) -> dict[str, int]:
        unknown = set(size) - set(self.size_names)
        if unknown:
            raise ValueError(
                f"task {self.name!r} takes sizes {', '.join(self.size_names)}; "
                f"got {', '.join(sorted(unknown))}"
            )
        full = self.default_size(**size)
        for key, value in full.items():
            if int(value) != value or value < 1:
                raise ValueError(f"{self.name}: {key} must be a positive integer, got {value!r}")
            if value > MAX_SIZE:
                raise ValueError(f"{self.name}: {key}={value} is beyond what one episode can hold here (at most {MAX_SIZE:,})")
        return {key: int(value) for key, value in full.items()}

    def sample(self, batch_size: int, rng: np.random.Generator | int | None = None, **size: int) -> Batch:
        """A batch from the training distribution, or of one exact size if given."""
        check_batch_size(batch_size)
        rng = as_generator(rng)
        if size:
            arrays = self.generate(rng, batch_size, **self.check_size(**size))
            return _to_batch(*arrays)
        sizes = self.draw_sizes(rng, batch_size)
        return self._sample_mixed(rng, batch_size, sizes)

    def _sample_mixed(self, rng: np.random.Generator, batch_size: int, sizes: dict[str, np.ndarray]) -> Batch:
        # Group equal sizes so each group is generated in one vectorised call;
        # groups are visited in sorted order so the batch is a function of rng.
        keys = np.stack([sizes[k] for k in self.size_names], axis=1)  # [B, n_sizes]
        groups = []
        for combo in np.unique(keys, axis=0):
            rows = np.flatnonzero((keys == combo).all(axis=1))
            size = {k: int(v) for k, v in zip(self.size_names, combo)}
            groups.append((rows, self.generate(rng, len(rows), **size)))
        steps = max(arrays[0].shape[1] for _, arrays in groups)
        inputs = np.zeros((batch_size, steps, self.input_width), np.float32)
        targets = np.zeros((batch_size, steps, self.output_width), np.float32)
        mask = np.zeros((batch_size, steps), bool)
        for rows, (x, y, m) in groups:
            t = x.shape[1]
            inputs[rows, :t] = x
            targets[rows, :t] = y
            mask[rows, :t] = m
        return _to_batch(inputs, targets, mask)


def _to_batch(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray) -> Batch:
    return Batch(
        torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(targets, dtype=np.float32)),
        torch.from_numpy(np.ascontiguousarray(mask, dtype=bool)),
    )


def random_bits(rng: np.random.Generator, shape) -> np.ndarray:
    """Uniform random 0/1 values as float32."""
    return rng.integers(0, 2, size=shape).astype(np.float32)

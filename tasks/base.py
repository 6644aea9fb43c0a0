"""The task contract (docs/tasks.md section 1): a task draws batches of (inputs, targets, mask).

A concrete task is a dataclass whose fields describe its training distribution
(so `tasks.get("copy", max_length=30)` is just `CopyTask(max_length=30)`). Its
class line names it and its channels: `class CopyTask(Task, name="copy",
input_width=9, output_width=8, size_names=("length",))`. It implements:

- `generate(rng, n, **size)`: n sequences of one exact size, as NumPy arrays
  inputs [n, T, input_width], targets [n, T, output_width], mask [n, T].
- `training_range()`: the smallest and largest value of each size argument it
  trains on, and `memory_needed(**size)`: the locations an episode needs.
- `draw_sizes(rng, n)`, if the training sizes are not uniform over that range:
  the sizes of n sequences, as a dict of integer arrays (one entry per size
  argument, e.g. {"length": [...]}).
- the class facts the reports read: `generalisation_sizes` (what `ntm eval`
  tests by default), and optionally `size_axis_label`, `phase_channels` and
  `size_label` for the pictures and tables, and `optimal_cost_bits` where the
  best possible predictor's cost is known (None otherwise).

`sample` (shared here) turns those into a padded `Batch`. Sequences of different
sizes share a batch: each is padded at the end with zero steps whose mask is
false. Padding at the end is harmless because every model is causal.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch

from ntm.checks import check_batch_size


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

    @property
    def lengths(self) -> torch.Tensor:
        """[B] each sequence's real length: one past its last scored step. The
        steps after it are padding, which no metric reads, so a model may skip them."""
        steps = torch.arange(1, self.steps + 1, device=self.mask.device)
        return (self.mask.to(torch.long) * steps).amax(dim=1)

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


class Task:
    """Base class of the tasks; see the module docstring."""

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
    # The sizes `ntm eval` and `ntm results` test generalisation at when no
    # size is given (docs/tasks.md section 6 for the paper's tasks).
    generalisation_sizes: ClassVar[tuple[dict[str, int], ...]]
    # The x-axis of generalisation plots; empty: the first size name.
    size_axis_label: ClassVar[str] = ""
    # Input channels whose non-zero steps mark a change of phase (a delimiter),
    # drawn as lines on the attention pictures. Empty: the step before the
    # first scored one is marked.
    phase_channels: ClassVar[tuple[int, ...]] = ()

    def __init_subclass__(cls, name: str = "", input_width: int = 0, output_width: int = 0,
                          size_names: tuple[str, ...] = (), **kwargs):
        """A task's identity on its class line: `class CopyTask(Task, name="copy",
        input_width=9, output_width=8, size_names=("length",))`."""
        super().__init_subclass__(**kwargs)
        given = {"name": name, "input_width": input_width, "output_width": output_width, "size_names": size_names}
        for key, value in given.items():
            if value:
                setattr(cls, key, value)

    def draw_sizes(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """Each size argument uniform over its training range, drawn in turn."""
        return {name: rng.integers(low, high + 1, size=n) for name, (low, high) in self.training_range().items()}

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

    def complete_size(self, **size: int) -> dict[str, int]:
        """Complete a partial size (e.g. only `length` of repeat copy) with
        training-typical values for the missing arguments."""
        return dict(size)

    def training_range(self) -> dict[str, tuple[int, int]]:
        """The smallest and largest value of each size argument trained on,
        e.g. {"length": (1, 10), "repeats": (1, 10)} for repeat copy."""
        raise NotImplementedError

    def largest_trained_size(self) -> dict[str, int]:
        """The largest natural size trained on (copy: length 20), completed."""
        name = self.size_names[0]
        return self.check_size(**{name: self.training_range()[name][1]})

    def size_label(self, size: dict[str, int]) -> str:
        """A size as a reader says it, e.g. "length 100"."""
        return " × ".join(f"{k} {v}" for k, v in size.items())

    def optimal_cost_bits(self, targets: torch.Tensor, mask: torch.Tensor) -> np.ndarray | None:
        """[n] the cost in bits of the best possible predictor on each sequence
        of a batch, or None where the task has no such estimator (a task with
        one right answer: its optimum is 0)."""
        return None

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
        full = self.complete_size(**size)
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
        return self.sample_sizes(rng, self.draw_sizes(rng, batch_size))

    def sample_sizes(self, rng: np.random.Generator, sizes: dict[str, np.ndarray]) -> Batch:
        """A batch with one sequence per entry of `sizes` (as `draw_sizes` gives them), padded."""
        batch_size = len(sizes[self.size_names[0]])
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

"""When a run counts as solved, and when as consolidated.

The running validation (`train.validation_samples` sequences drawn like the
training ones) picks the best weights and draws the curve. Its mean is a
lenient judge of a solve: short sequences are easy, so a model whose copies
of length 20 fail one time in twenty still averages under 0.1 bit errors.

The solve check judges on a larger fixed set instead, drawn once from
`train.validation_seed`:
- the task's natural size (copy's length, associative recall's items) split
  into up to `BANDS` bands over its training range, `SAMPLES_PER_BAND`
  sequences each, the other sizes drawn as in training;
- `SAMPLES_AT_MAXIMUM` sequences at the largest size trained on, enough to
  see a failure rate of 0.5 % as five failing sequences.

The check runs the model with the memory size evaluation gives it (its
own), whatever size it trains with: it judges the model a user evaluates.
A run is *solved* when every band and the maximum are under
SOLVED_BIT_ERRORS bit errors per sequence. Its training then goes on at the
lower lr after the solve, and it is *consolidated* once, besides, every
sequence of the set is right at `CONSOLIDATING_CHECKS` checks in a row. A
model failing one sequence in 500 passes a check of 99.8 % now and then,
and then fails the target of at most one failing copy in 500 at some length
of 1-20 (checkpoints/README.md, "Default recipes").
The set is checked only where the running validation is itself under the
threshold (or once solved), so it costs nothing while a model is learning.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ntm.evaluation import evaluate_batches

BANDS = 4
SAMPLES_PER_BAND = 500
SAMPLES_AT_MAXIMUM = 1000
CONSOLIDATED_ACCURACY = 1.0  # every sequence of the set right
CONSOLIDATING_CHECKS = 2
_CHUNK = 250  # sequences per batch of the check: bounds the memory of a long size's batch


@dataclasses.dataclass
class Verdict:
    """The check's figures per part ("length 1-5", ..., "length 20"), and what they mean."""

    parts: dict[str, dict[str, float]]  # part label -> cost_bits, bit_errors, seq_accuracy
    maximum: str  # the label of the training maximum's part
    solved: bool
    consolidated: bool  # by this check's figures; the loop asks for CONSOLIDATING_CHECKS in a row

    def worst(self) -> tuple[str, float]:
        """The part with the most bit errors per sequence, and that figure."""
        label = max(self.parts, key=lambda key: self.parts[key]["bit_errors"])
        return label, self.parts[label]["bit_errors"]

    def least_right(self) -> float:
        """The smallest fraction of sequences right in any part."""
        return min(part["seq_accuracy"] for part in self.parts.values())

    def summary(self) -> dict:
        """What the curve and the events record: the worst part, and the least fraction right."""
        label, errors = self.worst()
        return {"worst_part": label, "worst_bit_errors": round(errors, 6),
                "least_seq_accuracy": round(self.least_right(), 6),
                "solved": self.solved, "consolidated": self.consolidated}


class SolveCheck:
    """The fixed sets of one task, drawn on first use, and the verdict on a model."""

    def __init__(self, task, train_cfg, device):
        self.task, self.train_cfg, self.device = task, train_cfg, device
        self._sets: dict[str, list] | None = None
        self._maximum = ""

    def sets(self) -> dict[str, list]:
        if self._sets is None:
            self._sets, self._maximum = _draw_sets(self.task, self.train_cfg.validation_seed, self.device)
        return self._sets

    def __call__(self, model, memory_size: int | None, threshold: float) -> Verdict:
        parts = {label: evaluate_batches(model, batches, memory_size=memory_size)
                 for label, batches in self.sets().items()}
        solved = all(part["bit_errors"] < threshold for part in parts.values())
        consolidated = solved and all(part["seq_accuracy"] >= CONSOLIDATED_ACCURACY for part in parts.values())
        return Verdict(parts, self._maximum, solved, consolidated)


def bands(low: int, high: int, count: int = BANDS) -> list[tuple[int, int]]:
    """[low, high] split into at most `count` contiguous bands of near-equal width."""
    values = high - low + 1
    count = max(1, min(count, values))
    edges = [low + (values * i) // count for i in range(count + 1)]
    return [(edges[i], edges[i + 1] - 1) for i in range(count)]


def _draw_sets(task, seed: int, device) -> tuple[dict[str, list], str]:
    rng = np.random.default_rng([seed, 1])  # apart from the running validation set's stream
    name = task.size_names[0]
    low, high = task.training_range()[name]
    sets = {}
    if high > low:  # a task trained on one size has no bands: its maximum is the whole range
        for band_low, band_high in bands(low, high):
            sizes = task.draw_sizes(rng, SAMPLES_PER_BAND)
            sizes[name] = rng.integers(band_low, band_high + 1, size=SAMPLES_PER_BAND)
            label = f"{name} {band_low}" if band_low == band_high else f"{name} {band_low}-{band_high}"
            sets[label] = [task.sample_sizes(rng, _slice(sizes, start)).to(device)
                           for start in range(0, SAMPLES_PER_BAND, _CHUNK)]
    largest = task.largest_trained_size()
    maximum = task.size_label(largest) + " (the training maximum)"
    sets[maximum] = [task.sample(min(_CHUNK, SAMPLES_AT_MAXIMUM - start), rng, **largest).to(device)
                     for start in range(0, SAMPLES_AT_MAXIMUM, _CHUNK)]
    return sets, maximum


def _slice(sizes: dict[str, np.ndarray], start: int) -> dict[str, np.ndarray]:
    return {key: values[start:start + _CHUNK] for key, values in sizes.items()}

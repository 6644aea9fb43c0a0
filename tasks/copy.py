"""Copy (Graves et al. 2014, section 4.1): read a sequence of random 8-bit
vectors, then write it back after a delimiter.

Length 2, time runs left to right (ch 8 is the delimiter, `.` is 0):

    inputs   1 0 . | . .        targets  . . . 1 0
             0 1 . | . .                 . . . 0 1
    ch 8     . . 1 | . .        mask     . . . x x

T = 2L + 1; only the last L steps are scored.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .base import Task, random_bits


@dataclasses.dataclass
class CopyTask(Task, name="copy", input_width=9, output_width=8, size_names=("length",)):
    generalisation_sizes = tuple({"length": n} for n in (10, 20, 30, 50, 100, 120))
    size_axis_label = "sequence length"
    phase_channels = (8,)  # the delimiter

    min_length: int = 1  # paper: lengths uniform in 1..20 for training
    max_length: int = 20
    width: int = 8  # bits per vector (fixed by the channel layout)

    def __post_init__(self):
        self.require_range("min_length", "max_length")
        self.require_width(self.output_width)

    def training_range(self):
        return {"length": (self.min_length, self.max_length)}

    def generate(self, rng, n, length):
        data = random_bits(rng, (n, length, self.width))
        steps = 2 * length + 1
        inputs = np.zeros((n, steps, self.input_width), np.float32)
        targets = np.zeros((n, steps, self.output_width), np.float32)
        mask = np.zeros((n, steps), bool)
        inputs[:, :length, : self.width] = data
        inputs[:, length, self.width] = 1.0
        targets[:, length + 1 :] = data
        mask[:, length + 1 :] = True
        return inputs, targets, mask

    def memory_needed(self, length):
        return length

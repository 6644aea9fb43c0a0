"""Repeat copy (Graves et al. 2014, section 4.2): read a sequence of random
8-bit vectors and a repeat count R, then write the sequence R times followed
by an end marker.

Length 2, R = 2, time runs left to right (`.` is 0; r is the normalised count
(R - 5.5)/sqrt(8.25) = -1.22 for the training range 1..10):

    inputs   1 0 . | . . . . .      targets  . . . 1 0 1 0 .
             0 1 . | . . . . .               . . . 0 1 0 1 .
    ch 8     . . 1 | . . . . .      ch 8     . . . . . . . 1
    ch 9     . . r | . . . . .      mask     . . . x x x x x

T = L + 1 + R*L + 1; the last R*L + 1 steps are scored.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .base import Task, random_bits


@dataclasses.dataclass
class RepeatCopyTask(Task, name="repeat-copy", input_width=10, output_width=9, size_names=("length", "repeats")):
    generalisation_sizes = ({"length": 10, "repeats": 10}, {"length": 20, "repeats": 10},
                            {"length": 10, "repeats": 20})
    size_axis_label = "sequence length"
    phase_channels = (8,)  # the delimiter

    min_length: int = 1  # paper: lengths uniform in 1..10 for training
    max_length: int = 10
    min_repeats: int = 1  # paper: repeat counts uniform in 1..10; this range
    max_repeats: int = 10  # also fixes the count's normalisation at any R
    width: int = 8  # bits per vector (fixed by the channel layout)

    def __post_init__(self):
        self.require_range("min_length", "max_length")
        self.require_range("min_repeats", "max_repeats")
        self.require_width(self.output_width - 1)  # the last output channel is the end marker

    def normalised_repeats(self, repeats: int) -> float:
        """(R - mean)/std of the discrete uniform over the training repeat range,
        so the count has mean 0 and variance 1 in training and keeps that scale
        when evaluated at larger R. A one-value range has std 0; use 1 there."""
        mean = (self.min_repeats + self.max_repeats) / 2
        variance = ((self.max_repeats - self.min_repeats + 1) ** 2 - 1) / 12
        return (repeats - mean) / (math.sqrt(variance) or 1.0)

    def training_range(self):
        return {"length": (self.min_length, self.max_length), "repeats": (self.min_repeats, self.max_repeats)}

    def size_label(self, size):
        return f"length {size['length']} × {size['repeats']} repeats"

    def complete_size(self, **size):
        # Generalisation tests vary one size at a time (length 20 x 10 repeats,
        # length 10 x 20 repeats), holding the other at its training maximum.
        size.setdefault("repeats", self.max_repeats)
        size.setdefault("length", self.max_length)
        return size

    def generate(self, rng, n, length, repeats):
        data = random_bits(rng, (n, length, self.width))
        out_start = length + 1
        steps = out_start + repeats * length + 1
        inputs = np.zeros((n, steps, self.input_width), np.float32)
        targets = np.zeros((n, steps, self.output_width), np.float32)
        mask = np.zeros((n, steps), bool)
        inputs[:, :length, : self.width] = data
        inputs[:, length, self.width] = 1.0
        inputs[:, length, self.width + 1] = self.normalised_repeats(repeats)
        targets[:, out_start:-1, : self.width] = np.tile(data, (1, repeats, 1))
        targets[:, -1, self.width] = 1.0
        mask[:, out_start:] = True
        return inputs, targets, mask

    def memory_needed(self, length, repeats):
        return length

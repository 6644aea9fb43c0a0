"""Priority sort (Graves et al. 2014, section 4.5): read random 8-bit vectors,
each with a scalar priority, then write the highest-priority ones in
descending order of priority.

Three inputs, two outputs, 2 bits shown, time runs left to right (ch 8 is
the priority, ch 9 the delimiter, `.` is 0):

    step      0   1   2   3   4   5
    inputs    1   0   1   .   .   .
              0   1   1   .   .   .
    ch 8    -.5  .9  .1   .   .   .
    ch 9      .   .   .   1   .   .
    targets   .   .   .   .   0   1      (step 1's vector, then step 2's)
              .   .   .   .   1   1
    mask      .   .   .   .   x   x

T = length + 1 + outputs; only the last `outputs` steps are scored.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .base import Task, random_bits


@dataclasses.dataclass
class PrioritySortTask(Task, name="priority-sort", input_width=10, output_width=8, size_names=("length", "outputs")):
    generalisation_sizes = ({"length": 20, "outputs": 16}, {"length": 40, "outputs": 32})
    size_axis_label = "input vectors"
    phase_channels = (9,)  # the delimiter

    length: int = 20  # paper: 20 input vectors per sequence for training
    outputs: int = 16  # paper: write back the 16 of highest priority
    width: int = 8  # bits per vector (fixed by the channel layout)

    def __post_init__(self):
        self.require_range("outputs", "length")
        self.require_width(self.output_width)

    def training_range(self):
        return {"length": (self.length, self.length), "outputs": (self.outputs, self.outputs)}

    def size_label(self, size):
        return f"{size['length']} inputs → {size['outputs']} outputs"

    def draw_sizes(self, rng, n):
        return {"length": np.full(n, self.length), "outputs": np.full(n, self.outputs)}

    def complete_size(self, **size):
        # Longer inputs keep the training ratio of outputs to inputs (16/20),
        # rounded half up and kept within 1..length.
        if "outputs" not in size and "length" in size:
            length = size["length"]
            size["outputs"] = min(max((length * self.outputs + self.length // 2) // self.length, 1), length)
        size.setdefault("length", self.length)
        return size

    def generate(self, rng, n, length, outputs):
        if outputs > length:
            raise ValueError(f"priority-sort: outputs ({outputs}) cannot exceed length ({length})")
        data = random_bits(rng, (n, length, self.width))  # [n, length, width]
        priority = rng.uniform(-1.0, 1.0, size=(n, length)).astype(np.float32)  # [n, length]
        # Sort on the float32 values the model sees, so ties after rounding
        # resolve the same way for everyone (input order, by stability).
        order = np.argsort(-priority, axis=1, kind="stable")[:, :outputs]  # [n, outputs]

        steps = length + 1 + outputs
        inputs = np.zeros((n, steps, self.input_width), np.float32)
        targets = np.zeros((n, steps, self.output_width), np.float32)
        mask = np.zeros((n, steps), bool)
        inputs[:, :length, : self.width] = data
        inputs[:, :length, self.width] = priority
        inputs[:, length, self.width + 1] = 1.0
        targets[:, length + 1 :] = np.take_along_axis(data, order[:, :, None], axis=1)
        mask[:, length + 1 :] = True
        return inputs, targets, mask

    def memory_needed(self, length, outputs):
        return length

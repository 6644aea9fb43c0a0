"""Associative recall (Graves et al. 2014, section 4.3): read a list of items,
then a query item; answer with the item that followed the query in the list.

An item is `item_length` (3) consecutive 6-bit vectors. Below: two items of
one 2-bit vector each, the query being the first item, time running left to
right (ch 6 is the item delimiter, ch 7 the query delimiter, `.` is 0):

    inputs   . 1 . 0 | . 1 . .      targets  . . . . . . . 0
             . 0 . 1 | . 0 . .               . . . . . . . 1
    ch 6     1 . 1 . | . . . .
    ch 7     . . . . | 1 . 1 .      mask     . . . . . . . x

T = K*(item_length + 1) + 2*item_length + 2, i.e. 4K + 8 for the paper's
items of 3 vectors; only the last item_length steps are scored.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .base import Task, random_bits


@dataclasses.dataclass
class AssociativeRecallTask(Task, name="associative-recall", input_width=8, output_width=6, size_names=("items",)):
    generalisation_sizes = tuple({"items": n} for n in (6, 10, 12, 15, 20))
    size_axis_label = "items"
    phase_channels = (7,)  # the query delimiter

    min_items: int = 2  # paper: 2..6 items per episode for training; the
    max_items: int = 6  # query needs an item after it, so at least 2
    item_length: int = 3  # paper: an item is 3 consecutive vectors
    width: int = 6  # bits per vector (fixed by the channel layout)

    def __post_init__(self):
        self.require_range("min_items", "max_items", floor=2, why=" (a query needs an item after it)")
        if self.item_length < 1:
            raise ValueError(f"associative-recall: item_length must be at least 1, got {self.item_length}")
        self.require_width(self.output_width)

    def training_range(self):
        return {"items": (self.min_items, self.max_items)}

    def size_label(self, size):
        return f"{size['items']} items"

    def generate(self, rng, n, items):
        if items < 2:
            raise ValueError(
                f"associative-recall: items must be at least 2 (the query needs an item after it), got {items}"
            )
        span = self.item_length + 1  # one delimiter step, then the item's vectors
        data = random_bits(rng, (n, items, self.item_length, self.width))  # [n, K, item_length, width]
        query = rng.integers(0, items - 1, size=n)  # [n], never the last item
        rows = np.arange(n)

        listing = np.zeros((n, items, span, self.input_width), np.float32)
        listing[:, :, 0, self.width] = 1.0
        listing[:, :, 1:, : self.width] = data

        q = items * span  # step of the first query delimiter
        steps = q + 2 * self.item_length + 2
        inputs = np.zeros((n, steps, self.input_width), np.float32)
        targets = np.zeros((n, steps, self.output_width), np.float32)
        mask = np.zeros((n, steps), bool)
        inputs[:, :q] = listing.reshape(n, q, self.input_width)
        inputs[:, q, self.width + 1] = 1.0
        inputs[:, q + 1 : q + 1 + self.item_length, : self.width] = data[rows, query]
        inputs[:, q + 1 + self.item_length, self.width + 1] = 1.0
        targets[:, -self.item_length :] = data[rows, query + 1]
        mask[:, -self.item_length :] = True
        return inputs, targets, mask

    def memory_needed(self, items):
        return items * (self.item_length + 1)
